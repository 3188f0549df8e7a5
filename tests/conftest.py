import logging

import pytest
from django.apps.registry import Apps
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest
from django.test import Client, override_settings
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy import roles
from sales.deals import board_totals
from tests.factories import UserFactory
from tests.smtp_sink import start_sink
from tests.worker_process import workers_left_running


class SuiteLog(logging.Handler):
    """Every log line the suite's code writes, formatted as a log file would hold it (message,
    arguments and any traceback), for tests/test_logs.py to search."""

    lines: list[str] = []

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def pytest_configure(config):
    # On the root logger and on the loggers that do not pass their records up to it.
    handler = SuiteLog()
    for name in ("", "django.server"):
        logging.getLogger(name).addHandler(handler)


def pytest_collection_modifyitems(config, items):
    # A test marked after_all reads what the others did: it runs last.
    items.sort(key=lambda item: item.get_closest_marker("after_all") is not None)


def pytest_runtest_setup(item):
    # The marker documents why; the skip says so in the report (-ra) instead of hiding it.
    if item.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the portable fallback is tested on this engine")


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test():
    """A worker process a test started and left running would take later tests' messages (on
    the filesystem broker, silently): killed here, and its test fails with its log."""
    yield
    left = workers_left_running()
    if left:
        pytest.fail("a worker outlived its test:\n" + "\n".join(left))


@pytest.fixture(autouse=True)
def _own_backup_dir(settings, tmp_path):
    """Backups a test writes go to its own folder, never to ./var/backups."""
    settings.BACKUP_DIR = tmp_path / "backups"


# Django's password hasher is slow on purpose (a second of CPU per hash here), and nearly every
# test makes a colleague and signs them in. The suite hashes with MD5 (tests only; PBKDF2 stays
# listed so that a hash made with it still verifies).
QUICK_PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashing():
    with override_settings(PASSWORD_HASHERS=QUICK_PASSWORD_HASHERS):
        yield


@pytest.fixture(autouse=True, scope="session")
def _empty_cache():
    """Without Redis the cache is files under ./var that outlive a run; a run starts empty."""
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_board_totals():
    """The board's cached totals are keyed by their query, whose ids a rolled-back test's
    successor may reuse: each test starts with a new version (sales/deals/board_totals.py)."""
    cache.delete(board_totals.VERSION_KEY)


# --- Staff accounts: the suite runs with lockout (django-axes) and two-factor authentication on.


class StaffClient(Client):
    """The test client as a signed-in colleague's browser after both login steps: a login of a
    user with an authenticator (UserFactory gives one to roles that need it) counts as having
    passed the code step. Tests of the login steps themselves use a plain `Client`."""

    def login(self, **credentials):
        # django-axes refuses to authenticate without the request it counts failures by.
        credentials.setdefault("request", HttpRequest())
        return super().login(**credentials)

    def _login(self, user, backend=None):
        super()._login(user, backend)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()


@pytest.fixture
def client():
    return StaffClient()


# ---


@pytest.fixture
def make_user(db):
    """make_user(role) -> a staff user in that role group (roles exist after migrate)."""

    def make(role: str | None = None, **fields):
        return UserFactory(role=role, **fields)

    return make


def _user_in(role: str, **fields):
    @pytest.fixture
    def user(make_user):
        return make_user(role, **fields)

    return user


sales_user = _user_in(roles.SALES)
other_sales_user = _user_in(roles.SALES)
service_user = _user_in(roles.SERVICE)
analyst_user = _user_in(roles.ANALYST)
privacy_user = _user_in(roles.PRIVACY_OFFICER)
admin_user_role = _user_in(roles.ADMINISTRATOR, is_staff=True)


@pytest.fixture
def smtp_sink(settings):
    """Mail goes through Django's SMTP backend to a real SMTP server on 127.0.0.1; the test
    reads `smtp_sink.messages`."""
    sink, controller = start_sink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield sink
    controller.stop()


@pytest.fixture
def migrate_to():
    """migrate_to([(app, migration)]) -> the models as they stand there: for tests of data
    migrations, which write rows at an old state and read them back at a new one. Afterwards
    the database is brought back to the latest migrations of every app, so that no test that
    follows finds one of them unapplied (a backward step unapplies later migrations of the
    apps that depend on it too)."""

    def migrate(targets: list[tuple[str, str]]) -> Apps:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield migrate
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
