import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.api_keys import create_api_key, create_service_account
from privacy import roles


@pytest.fixture
def api_client_for(db):
    """api_client_for(role) -> an APIClient calling with a new API key of a new service
    account in that role (`client.key` is the ApiKey, `client.account` its user)."""
    made = 0

    def make(role: str, *, account=None) -> APIClient:
        nonlocal made
        made += 1
        if account is None:
            account = create_service_account(
                actor=None,
                username=f"integration-{role.lower().replace(' ', '-')}-{made}",
                groups=[Group.objects.get(name=role)],
            )
        new = create_api_key(actor=None, account=account, name=f"key {made}")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {new.secret}")
        client.key, client.account, client.secret = new.key, account, new.secret
        return client

    return make


@pytest.fixture
def admin_api(api_client_for):
    return api_client_for(roles.ADMINISTRATOR)


@pytest.fixture
def sales_api(api_client_for):
    return api_client_for(roles.SALES)


@pytest.fixture
def analyst_api(api_client_for):
    return api_client_for(roles.ANALYST)
