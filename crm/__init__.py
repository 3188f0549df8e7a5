import os

# Files the CRM writes under var/ — the SQLite database, exports, import uploads, data-subject
# copies, restored databases, the embedded broker's messages, logs — hold personal data: they are
# created for the account running the CRM alone (files 0600, folders 0700), as var/.env is.
# Every process imports this package before it writes anything (manage.py and its commands,
# runserver, migrate, the Celery worker and beat through `-A crm`, gunicorn's workers through
# crm.wsgi, the test suite through crm.settings), so the mask is set here once.
os.umask(0o077)

from crm.celery import app as celery_app  # noqa: E402 (the mask comes first)

__all__ = ("celery_app",)
