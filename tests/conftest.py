import pytest
from django.core.cache import cache

from privacy import roles
from tests.factories import UserFactory


@pytest.fixture(autouse=True, scope="session")
def _empty_cache():
    """Without Redis the cache is files under ./var that outlive a run; a run starts empty."""
    cache.clear()


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
