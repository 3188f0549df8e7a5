"""A real HTTP receiver on 127.0.0.1 (http.server in a thread) answering with the statuses a
test gives it, service accounts in each role, and subscriptions made through the service."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Group

from accounts.api_keys import create_service_account
from kernel import outbox
from privacy import roles
from tests.factories import UserFactory
from webhooks import services


@dataclass
class Received:
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer, in turn; the last one is repeated.
    answers: list[int] = field(default_factory=lambda: [200])


@pytest.fixture
def receiver():
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            body = self.rfile.read(length).decode()
            state.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            status = state.answers.pop(0) if len(state.answers) > 1 else state.answers[0]
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"answer {status}".encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _private_targets_allowed(settings):
    """The receiver listens on loopback, which production refuses."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture(autouse=True)
def _fresh_topic_cache():
    """The cached set of listened-to topics outlives a test's database rows."""
    outbox.forget_subscribed_topics()
    yield
    outbox.forget_subscribed_topics()


@pytest.fixture
def service_account(db):
    made = 0

    def make(role: str):
        nonlocal made
        made += 1
        return create_service_account(
            actor=None,
            username=f"hook-{role.lower().replace(' ', '-')}-{made}",
            groups=[Group.objects.get(name=role)],
        )

    return make


@pytest.fixture
def subscribe(service_account):
    """subscribe(url, topics, role=Administrator) -> NewSecret (subscription, secret)."""

    def make(url: str, topics: list[str], role: str = roles.ADMINISTRATOR, **fields):
        owner = UserFactory(role=roles.ADMINISTRATOR, email="owner@example.com")
        return services.create_subscription(
            actor=None,
            name=fields.pop("name", "Shop"),
            target_url=url,
            topics=topics,
            service_account=fields.pop("service_account", None) or service_account(role),
            owner=owner,
        )

    return make
