"""The demo and bench generator (demo/data/): what its data means must hold, since the
demo's duplicates and bench/dedup.py's precision are read from it."""

import datetime
import itertools
from collections import defaultdict

from django.utils import timezone

from demo.data import customers as demo_customers
from demo.data import purchases as demo_purchases
from demo.data.scenario import Scenario


def _scenario() -> Scenario:
    catalog = tuple(
        demo_purchases.catalog_item(number, row)
        for number, row in enumerate(demo_purchases.products(), start=1)
    )
    return Scenario(
        seed=3,
        now=timezone.localtime(timezone.make_aware(datetime.datetime(2026, 6, 1, 12))),
        catalog=catalog,
        mean_purchases=0.5,
        mean_interactions=0.5,
    )


def test_only_registrations_of_one_person_share_an_email_address(settings):
    scenario = _scenario()
    person_of: dict[int, int] = {}
    email_of: dict[int, str] = {}
    by_email: dict[str, set[int]] = defaultdict(set)
    for customer in demo_customers.customers(scenario, 6000):
        plan, email = customer.plan, customer.row.email
        # A re-registration is the person it re-registers (chains end at the first record).
        person_of[plan.index] = (
            person_of[plan.duplicate_of] if plan.duplicate_of >= 0 else plan.index
        )
        email_of[plan.index] = email
        if email and customer.row.kind == "person":
            by_email[email].add(person_of[plan.index])
    assert {email: people for email, people in by_email.items() if len(people) > 1} == {}
    # Deliberate re-registrations still share the address they are meant to share.
    assert any(
        email and email == email_of[person_of[index]] and person_of[index] != index
        for index, email in email_of.items()
    )


def test_newcomers_are_people_the_loaded_customers_do_not_include():
    scenario = _scenario()
    loaded = list(demo_customers.customers(scenario, 500))
    known_emails = {customer.row.email for customer in loaded if customer.row.email}
    newcomers = list(itertools.islice(demo_customers.newcomers(scenario, after=500), 40))
    assert len(newcomers) == 40
    for person in newcomers:
        assert person.email.strip().lower() not in known_emails
        assert person.name
        assert person.lang in ("zh", "en")
    # Typed as people type them, in their own language.
    assert any(person.city and person.lang == "zh" for person in newcomers)
