"""gunicorn's settings for the production image (read from the working directory)."""

import os

bind = "0.0.0.0:8000"
workers = 3
# Behind the reverse proxy: REMOTE_ADDR comes from its X-Forwarded-For (the audit log and the
# login lockout read it). Narrow this to the proxy's address where the network allows.
forwarded_allow_ips = "*"
accesslog = "-"
# The path without its query string, no referrer (it carries the previous page's address with
# its query) and no user agent: the access log holds no personal data beyond the address.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'

# In production (LOG_FORMAT json, the default) gunicorn's own lines are JSON like the app's.
if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "crm.log_filters.JsonLineFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
    }
