import pytest

from privacy import roles
from tests.factories import UserFactory


@pytest.fixture
def make_user(db):
    """make_user(role) -> a staff user in that role group (roles exist after migrate)."""

    def make(role: str | None = None, **fields):
        return UserFactory(role=role, **fields)

    return make


@pytest.fixture
def sales_user(make_user):
    return make_user(roles.SALES)


@pytest.fixture
def other_sales_user(make_user):
    return make_user(roles.SALES)


@pytest.fixture
def analyst_user(make_user):
    return make_user(roles.ANALYST)


@pytest.fixture
def admin_user_role(make_user):
    return make_user(roles.ADMINISTRATOR, is_staff=True)


@pytest.fixture
def privacy_user(make_user):
    return make_user(roles.PRIVACY_OFFICER)


@pytest.fixture
def service_user(make_user):
    return make_user(roles.SERVICE)
