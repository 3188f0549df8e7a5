"""Factories that create records through the services, like the app does."""

import datetime
from decimal import Decimal

import factory
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.two_factor import two_factor_required
from customers import services as customer_services
from customers.models import Contact, Customer, ExternalId, ImportIssue, ImportJob
from interactions import services as interaction_services
from interactions.models import FollowUp, Interaction, Transaction
from privacy import roles
from privacy.consent import record_consent
from privacy.models import ConsentRecord, DataSubjectRequest
from privacy.subjects import services as subject_services


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Test"
    password = factory.django.Password("correct-horse-battery")

    @factory.post_generation
    def role(self, create, role_name, **kwargs):
        if create and role_name:
            self.groups.add(Group.objects.get(name=role_name))

    @factory.post_generation
    def otp_device(self, create, extracted, **kwargs):
        """Users whose permissions require two-factor authentication get a confirmed
        authenticator, as after their first login; otp_device=False: not enrolled yet."""
        if create and extracted is not False and two_factor_required(self):
            TOTPDevice.objects.create(user=self, name="Test phone", confirmed=True)
        # has_perm() above cached the permissions on this instance; tests change them later.
        for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
            self.__dict__.pop(cache, None)


def totp_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the user's authenticator app shows now (or `steps_ahead` 30-second steps
    later: a code is accepted once, and one step either side of now)."""
    code = totp(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=steps_ahead
    )
    return f"{code:0{device.digits}d}"


def wrong_code(device: TOTPDevice) -> str:
    """A well-formed code the device refuses: none of the codes of the steps it would accept
    (now and one either side, with a margin for a step boundary passing meanwhile)."""
    accepted = {totp_code(device, steps_ahead=step) for step in range(-2, 3)}
    return next(code for code in (f"{n:06d}" for n in range(10**6)) if code not in accepted)


class CustomerFactory(factory.Factory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    actor = None

    @classmethod
    def _create(cls, model_class, *args, actor=None, **kwargs):
        return customer_services.create_customer(actor=actor, **kwargs)


class TransactionFactory(factory.Factory):
    class Meta:
        model = Transaction

    customer = factory.SubFactory(CustomerFactory)
    occurred_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=3))
    channel = "store"
    amount = Decimal("199.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return interaction_services.record_transaction(actor=None, **kwargs)


class InteractionFactory(factory.Factory):
    class Meta:
        model = Interaction

    customer = factory.SubFactory(CustomerFactory)
    kind = "call"
    subject = "Asked about delivery"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return interaction_services.record_interaction(actor=None, **kwargs)


class ContactFactory(factory.Factory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory, kind="company")
    name = "王芳"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return customer_services.save_contact(actor=None, **kwargs)


class ExternalIdFactory(factory.Factory):
    class Meta:
        model = ExternalId

    customer = factory.SubFactory(CustomerFactory)
    system = "shop"
    external_id = factory.Sequence(lambda n: f"C-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return customer_services.add_external_id(actor=None, **kwargs)


class FollowUpFactory(factory.Factory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    title = "Call back"
    due_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=1))
    assignee = factory.LazyAttribute(lambda follow_up: follow_up.customer.owner)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return interaction_services.schedule_follow_up(actor=None, **kwargs)


class ConsentRecordFactory(factory.Factory):
    class Meta:
        model = ConsentRecord

    customer = factory.SubFactory(CustomerFactory)
    purpose = "marketing_email"
    granted = True
    source = "staff"
    evidence = "Ticked the box on the paper form"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return record_consent(actor=None, **kwargs)


class DataSubjectRequestFactory(factory.Factory):
    class Meta:
        model = DataSubjectRequest

    customer = factory.SubFactory(CustomerFactory)
    kind = "access"
    channel = "email"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        officer = UserFactory(role=roles.PRIVACY_OFFICER)
        return subject_services.log_request(actor=officer, **kwargs)


def import_issue(value: str, *, created_by) -> ImportIssue:
    """A line of an import's error report quoting `value` as the file had it."""
    job = ImportJob.objects.create(
        created_by=created_by,
        kind="customers",
        file="imports/report.csv",
        file_name="report.csv",
        file_checksum="0" * 64,
    )
    return ImportIssue.objects.create(
        job=job, row=2, column="phone", value=value, message="Bad value", severity="error"
    )


def form_data(form, **changes) -> dict:
    """What a browser would post back from `form` as it was drawn (its hidden version fields
    included), with `changes` (field name: value as typed) applied."""
    data: dict = {}
    for bound in form:
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
            continue
        widget = getattr(bound.field.widget, "widget", bound.field.widget)  # admin's wrapper
        formatted = widget.format_value(value)
        if isinstance(formatted, list):
            formatted = [item for item in formatted if item]
            if not getattr(widget, "allow_multiple_selected", False):
                formatted = formatted[0] if formatted else ""
        data[bound.html_name] = "" if formatted is None else formatted
    for name, value in changes.items():
        key = form.add_prefix(name)
        if value is True:
            data[key] = "on"
        elif value is False:
            data.pop(key, None)
        else:
            data[key] = value
    return data
