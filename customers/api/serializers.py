"""Customers as the API shows and takes them.

Reads mask personal data exactly as the pages do (customers/presentation.py). Writes take raw
values, as a form does: the services normalise and validate them (a phone in any format, a
date as people write it), so the API accepts what the pages accept and refuses it with the same
messages."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from customers.api.custom_values import CustomValuesInput, CustomValuesOutput, fields_in
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.records import mask_personal_values
from customers.models import (
    CompanySize,
    Contact,
    Customer,
    CustomerKind,
    DecisionRole,
    ExternalId,
    Gender,
    IdDocumentKind,
    LifecycleStage,
    SourceChannel,
    Tag,
    ValueGrade,
)
from customers.presentation import PERSONAL_FIELDS, display_personal
from customers.selectors import can_view_personal_data, customers_visible_to
from kernel.api.serializers import ReadOnlyBlanks
from kernel.free_text import has_unreadable_characters
from privacy.models import ConsentPurpose, ConsentRecord, ConsentSource, PrivacyPolicy

READ_FIELDS = (
    "id",
    "kind",
    "name",
    "family_name",
    "given_name",
    "gender",
    "birth_date",
    "phone",
    "phone_verified",
    "email",
    "email_verified",
    "id_document_kind",
    "id_number_masked",
    "country",
    "province",
    "city",
    "district",
    "street",
    "postcode",
    "company_name",
    "industry",
    "company_size",
    "website",
    "lifecycle_stage",
    "value_grade",
    "source_channel",
    "source_detail",
    "owner",
    "notes",
    "tags",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "consent_profiling",
    "consent_third_parties",
    "created_at",
    "updated_at",
    "last_activity_at",
    "archived_at",
    "restricted_at",
    "custom",
    "version",
)


class MaskedPersonalDataMixin(ReadOnlyBlanks):
    """Personal fields (customers.presentation.PERSONAL_FIELDS) come out masked unless the
    requesting user may see this customer's personal data; blank fields are documented as
    such (kernel/api/serializers.py)."""

    # Whose custom fields the serialized records' `custom` holds.
    custom_target: str = FieldTarget.CUSTOMER

    def customer_of(self, instance: Any) -> Customer:
        return instance

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)  # type: ignore[misc]
        user = self.context["request"].user  # type: ignore[attr-defined]
        customer = self.customer_of(instance)
        for field in PERSONAL_FIELDS:
            if field in data:
                data[field] = display_personal(user, customer, field, record=instance)
        if "custom" in data and not can_view_personal_data(user, customer):
            data["custom"] = mask_personal_values(
                fields_in(self.context, self.custom_target), data["custom"]
            )
        return data


class CustomerSerializer(MaskedPersonalDataMixin, serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    custom = CustomValuesOutput()
    tags = serializers.PrimaryKeyRelatedField(read_only=True, many=True)
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Customer
        fields = READ_FIELDS
        read_only_fields = READ_FIELDS


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, **kwargs)


class ReadableSlugRelatedField(serializers.SlugRelatedField):
    """A record named by a slug: one with characters nobody types names no record (and
    PostgreSQL refuses to look a NUL up, which would be a server error)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and has_unreadable_characters(data):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data)
        return super().to_internal_value(data)


class ExternalIdInputSerializer(serializers.Serializer):
    system = serializers.CharField(max_length=50)
    external_id = serializers.CharField(max_length=100)


class CustomerWriteSerializer(serializers.Serializer):
    """A customer's fields as a caller sends them: raw, as typed into a form; every one
    optional on update. The services decide what is valid."""

    kind = serializers.ChoiceField(choices=CustomerKind.choices, required=False)
    name = serializers.CharField(required=False, max_length=200)
    family_name = _text(max_length=100)
    given_name = _text(max_length=100)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    birth_date = _text(
        max_length=40, help_text=_("A date as people write it: 1990-05-17, 1990/5/17, 19900517.")
    )
    phone = _text(max_length=60, help_text=_("Any format; normalised to E.164."))
    phone_verified = serializers.BooleanField(required=False)
    email = _text(max_length=254)
    email_verified = serializers.BooleanField(required=False)
    id_document_kind = serializers.ChoiceField(choices=IdDocumentKind.choices, required=False)
    id_number = _text(
        max_length=40,
        write_only=True,
        help_text=_("Stored encrypted; reads show only id_number_masked. Empty removes it."),
    )
    country = _text(max_length=60)
    province = _text(max_length=60)
    city = _text(max_length=60)
    district = _text(max_length=60)
    street = _text(max_length=200)
    postcode = _text(max_length=20)
    company_name = _text(max_length=200)
    industry = _text(max_length=100)
    company_size = serializers.ChoiceField(
        choices=CompanySize.choices, required=False, allow_blank=True
    )
    website = _text(max_length=200)
    lifecycle_stage = serializers.ChoiceField(choices=LifecycleStage.choices, required=False)
    value_grade = serializers.ChoiceField(
        choices=ValueGrade.choices, required=False, allow_blank=True
    )
    source_channel = serializers.ChoiceField(
        choices=SourceChannel.choices, required=False, allow_blank=True
    )
    source_detail = _text(max_length=200)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True), required=False, allow_null=True
    )
    notes = _text()
    consent_email = serializers.BooleanField(required=False)
    consent_sms = serializers.BooleanField(required=False)
    consent_phone = serializers.BooleanField(required=False)
    tags = serializers.PrimaryKeyRelatedField(queryset=Tag.objects.all(), many=True, required=False)
    custom = CustomValuesInput()


class CustomerCreateSerializer(CustomerWriteSerializer):
    name = serializers.CharField(max_length=200)
    external_ids = ExternalIdInputSerializer(many=True, required=False)
    allow_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text=_(
            "Create the customer even when one you can see has the same phone, email or "
            "identity number (otherwise 409 with their ids)."
        ),
    )


class MergeSerializer(serializers.Serializer):
    others = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=20,
        help_text=_("The customers merged into this one (they stop existing on their own)."),
    )
    field_choices = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        help_text=_(
            "Field (a custom one as custom.<key>) → id of the customer whose value to keep; "
            "the default keeps the most complete."
        ),
    )


class ContactSerializer(MaskedPersonalDataMixin, serializers.ModelSerializer):
    def customer_of(self, instance: Any) -> Customer:
        return instance.customer

    class Meta:
        model = Contact
        fields = (
            "id",
            "customer",
            "name",
            "title",
            "decision_role",
            "phone",
            "email",
            "is_primary",
            "created_at",
            "updated_at",
            "version",
        )
        read_only_fields = fields


class VisibleCustomerField(serializers.PrimaryKeyRelatedField):
    """A customer named by id in a request body, among those the caller may see: one outside
    their scope is refused as an unknown id, so its existence is not leaked."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Customer.objects.none(), **kwargs)

    def get_queryset(self) -> Any:
        return customers_visible_to(self.context["request"].user)


class ContactWriteSerializer(serializers.Serializer):
    """A contact person's fields as typed; every one optional on update. The service
    normalises phone and email and decides what is valid."""

    name = serializers.CharField(required=False, max_length=200)
    title = _text(max_length=100)
    decision_role = serializers.ChoiceField(
        choices=DecisionRole.choices, required=False, allow_blank=True
    )
    phone = _text(max_length=64, help_text=_("Any format; normalised to E.164."))
    email = _text(max_length=320)
    is_primary = serializers.BooleanField(
        required=False, help_text=_("Making a contact primary demotes the previous primary one.")
    )


class ContactCreateSerializer(ContactWriteSerializer):
    customer = VisibleCustomerField()
    name = serializers.CharField(max_length=200)


class TagSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tag
        fields = ("id", "name", "colour", "group", "version")
        read_only_fields = ("id", "version")


class TagWriteSerializer(serializers.Serializer):
    """A tag's fields; every one optional on update."""

    name = serializers.CharField(required=False, max_length=50)
    colour = serializers.CharField(
        required=False, max_length=7, help_text=_("A colour as #rrggbb.")
    )
    group = _text(max_length=50)


class TagCreateSerializer(TagWriteSerializer):
    name = serializers.CharField(max_length=50)


class ExternalIdSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExternalId
        fields = ("id", "customer", "system", "external_id", "created_at")
        read_only_fields = fields


class ExternalIdCreateSerializer(ExternalIdInputSerializer):
    customer = VisibleCustomerField()


class ConsentRecordSerializer(serializers.ModelSerializer):
    """One entry of the consent ledger, as the customer page's consent history shows it."""

    policy = serializers.SlugRelatedField(slug_field="version", read_only=True, allow_null=True)

    class Meta:
        model = ConsentRecord
        fields = (
            "id",
            "customer",
            "purpose",
            "granted",
            "recorded_at",
            "source",
            "evidence",
            "policy",
            "recorded_by",
        )
        read_only_fields = fields


class ConsentInputSerializer(serializers.Serializer):
    """A consent given or withdrawn, with its evidence. Purpose and evidence are checked as
    the customer page's form checks them (privacy/forms.py ConsentForm)."""

    customer = VisibleCustomerField()
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField(help_text=_("true: given; false: withdrawn."))
    evidence = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=_(
            "What the customer said, signed or ticked, and where it is kept; needed for a "
            "consent given."
        ),
    )
    source = serializers.ChoiceField(
        choices=ConsentSource.choices,
        default=ConsentSource.API,
        help_text=_("Through what the consent came (default: api)."),
    )
    policy = ReadableSlugRelatedField(
        slug_field="version",
        queryset=PrivacyPolicy.objects.all(),
        required=False,
        allow_null=True,
        help_text=_(
            "The privacy policy version the customer was shown; by default the one in force "
            "at recorded_at."
        ),
    )
    recorded_at = serializers.DateTimeField(
        required=False,
        help_text=_("When the customer gave or withdrew it; by default now. Never in the future."),
    )
