"""What the request benchmarks share: a logged-in staff client and latency percentiles. (Not
named requests.py: bench/ comes first on a script's sys.path and would shadow the package.)"""

from __future__ import annotations

import statistics

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from privacy import roles


def service_client() -> tuple[Client, object]:
    """A test client logged in as a Service user (sees every customer, unmasked)."""
    return client_in_role(roles.SERVICE, "bench_service")


def client_in_role(role: str, username: str) -> tuple[Client, object]:
    """A test client logged in as a user of the role, with DEBUG off so Django does not keep
    every query in memory."""
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    user, _created = get_user_model().objects.get_or_create(username=username)
    user.groups.set([Group.objects.get(name=role)])
    client = Client()
    client.force_login(user)
    return client, user


def p50_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[
        min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    ]
