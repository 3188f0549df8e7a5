"""A person's submissions in the privacy workflows: in their copy, scrubbed by their erasure,
following a merge; old submissions forgotten; a crash at the door leaves nothing behind."""

import datetime

import pytest
from django.utils import timezone

from customers.merge import merge_customers
from customers.models import Customer
from customers.services import create_customer
from privacy.models import ConsentRecord
from privacy.registry import COPY_SECTIONS
from privacy.subjects.erasure import anonymise_customers
from tests.webforms.conftest import post
from webforms import intake
from webforms.models import FormRejection, FormSubmission
from webforms.retention import forget_old_submissions

pytestmark = pytest.mark.django_db

PERSON = {"name": "Anna Schmidt", "email": "anna@example.de", "consent_marketing_email": "on"}


def test_the_copy_lists_the_persons_submissions(make_form, visitor):
    form = make_form()
    post(visitor, form, PERSON)
    section = next(s for s in COPY_SECTIONS if s.name == "form_submissions")
    customer = Customer.objects.get()
    [row] = section.rows([customer.pk])
    assert {column.key: column.get(row) for column in section.columns}["form"] == form.name


def test_an_erasure_forgets_addresses_and_ends_the_waiting_link(make_form, visitor):
    form = make_form()
    post(visitor, form, PERSON)
    FormSubmission.objects.update(token_digest="a" * 64)
    customer = Customer.objects.get()
    counts = anonymise_customers([customer.pk], actor=None, reason="request", evidence="Asked")
    assert counts["form_submissions"] == 1
    submission = FormSubmission.objects.get()
    assert (submission.ip_address, submission.user_agent, submission.token_digest) == (None, "", "")
    assert submission.pending_purposes == []
    assert submission.source_detail == ""
    assert intake.find_confirmation("anything")[0] == intake.Confirmation.UNKNOWN


def test_a_confirmation_after_a_merge_reaches_the_survivor(make_form, visitor):
    form = make_form()
    post(visitor, form, PERSON)
    submitted = Customer.objects.get()
    survivor = create_customer(actor=None, name="Anna S.", phone="13800138000")
    merge_customers(actor=None, survivor=survivor, others=[submitted])
    submission = FormSubmission.objects.get()
    assert submission.customer == survivor  # a merge moves the submissions along
    submission.token_digest = intake.digest_of("token")
    submission.confirmation_expires_at = timezone.now() + datetime.timedelta(days=1)
    submission.save()
    step = intake.Step(timezone.now(), "192.0.2.1", "Browser")
    assert intake.confirm(token="token", step=step) == intake.Confirmation.CONFIRMED
    assert ConsentRecord.objects.get(purpose="marketing_email").customer == survivor


def test_old_submissions_are_forgotten_but_waiting_links_kept(make_form, visitor, settings):
    settings.WEBFORMS_SUBMISSION_DAYS = 30
    form = make_form()
    for n in range(3):
        post(visitor, form, {**PERSON, "email": f"p{n}@example.com", "name": f"P {n}"})
    post(visitor, form, {**PERSON, "homepage": "x"})
    old, waiting, recent = FormSubmission.objects.order_by("pk")
    long_ago = timezone.now() - datetime.timedelta(days=40)
    FormSubmission.objects.filter(pk__in=[old.pk, waiting.pk]).update(received_at=long_ago)
    FormSubmission.objects.filter(pk=waiting.pk).update(
        confirmation_expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    FormRejection.objects.update(day=timezone.localdate(long_ago))
    assert forget_old_submissions(batch=1) == 1
    assert set(FormSubmission.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
    assert not FormRejection.objects.exists()
    assert Customer.objects.count() == 3  # the customers stay


def test_a_failure_at_the_door_leaves_no_customer_behind(make_form, visitor, monkeypatch):
    form = make_form()

    def broken_save(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(FormSubmission, "save", broken_save)
    with pytest.raises(RuntimeError):
        post(visitor, form, {**PERSON, "consent_profiling": "on"})
    assert not Customer.objects.exists()
    assert not ConsentRecord.objects.exists()
