"""Products, purchases with their lines, interactions and follow-ups as the API shows and
takes them. Amounts are decimal strings ("199.00"), never floats. Writes take the values a
page's form takes; the services validate them."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from customers.api.custom_values import CustomValuesInput, CustomValuesOutput
from customers.api.serializers import MaskedPersonalDataMixin, VisibleCustomerField
from customers.custom_fields.models import FieldTarget
from customers.models import Contact
from customers.selectors import contacts_visible_to
from interactions.forms import staff_who_follow_up
from interactions.models import (
    FollowUp,
    Interaction,
    InteractionChannel,
    InteractionKind,
    Product,
    SalesChannel,
    Transaction,
    TransactionLine,
    TransactionStatus,
)

# An order of more lines is a bulk upload, not a purchase.
MAX_LINES = 500


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class ProductSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Product
        fields = ("id", "sku", "name", "category", "price", "currency", "is_active", "version")
        read_only_fields = fields


class ProductWriteSerializer(serializers.Serializer):
    """A product's fields; every one optional on update."""

    sku = serializers.CharField(required=False, max_length=64)
    name = serializers.CharField(required=False, max_length=200)
    category = _text(max_length=100)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    currency = serializers.CharField(
        required=False, min_length=3, max_length=3, help_text=_("ISO 4217: CNY, USD...")
    )
    is_active = serializers.BooleanField(
        required=False, help_text=_("Retire a product by making it inactive.")
    )


class ProductCreateSerializer(ProductWriteSerializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=200)


class TransactionLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = TransactionLine
        fields = (
            "id",
            "product",
            "description",
            "quantity",
            "unit_price",
            "discount",
            "line_total",
        )
        read_only_fields = fields


class TransactionSerializer(serializers.ModelSerializer):
    lines = TransactionLineSerializer(many=True, read_only=True)

    class Meta:
        model = Transaction
        fields = (
            "id",
            "customer",
            "source_system",
            "external_ref",
            "occurred_at",
            "channel",
            "status",
            "amount",
            "discount",
            "currency",
            "recorded_by",
            "created_at",
            "lines",
        )
        read_only_fields = fields


class TransactionLineInputSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True
    )
    description = _text(max_length=200)
    quantity = serializers.DecimalField(
        max_digits=12, decimal_places=3, required=False, help_text=_("Above zero; 1 if left out.")
    )
    unit_price = serializers.DecimalField(max_digits=16, decimal_places=4)
    discount = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    line_total = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_(
            "What the line came to, as the source recorded it; "
            "else quantity × unit price less the discount."
        ),
    )

    def validate_quantity(self, quantity: Any) -> Any:
        if quantity <= 0:
            raise serializers.ValidationError(_("Enter a quantity above zero."))
        return quantity


class TransactionCreateSerializer(serializers.Serializer):
    customer = VisibleCustomerField()
    occurred_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=SalesChannel.choices)
    status = serializers.ChoiceField(choices=TransactionStatus.choices, required=False)
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        help_text=_("What the customer was charged; the sum of the lines if left out."),
    )
    currency = serializers.CharField(required=False, min_length=3, max_length=3)
    source_system = _text(max_length=50, help_text=_("The shop or system the order comes from."))
    external_ref = _text(
        max_length=100,
        help_text=_("The order number there; one order number is recorded once per system."),
    )
    lines = TransactionLineInputSerializer(many=True, required=False, max_length=MAX_LINES)


class InteractionSerializer(MaskedPersonalDataMixin, serializers.ModelSerializer):
    archived = serializers.SerializerMethodField(
        help_text=_("Moved to the archive (older interactions); the id stays the same.")
    )
    custom = CustomValuesOutput(target=FieldTarget.INTERACTION)
    custom_target = FieldTarget.INTERACTION

    class Meta:
        model = Interaction
        fields = (
            "id",
            "customer",
            "contact",
            "kind",
            "channel",
            "occurred_at",
            "subject",
            "body",
            "satisfaction",
            "staff",
            "source_system",
            "external_ref",
            "custom",
            "created_at",
            "archived",
        )
        read_only_fields = fields

    def customer_of(self, instance: Any) -> Any:
        return instance.customer

    def get_archived(self, interaction: Any) -> bool:
        return not isinstance(interaction, Interaction)


class VisibleContactField(serializers.PrimaryKeyRelatedField):
    """A contact person among those of the customers the caller may see."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Contact.objects.none(), **kwargs)

    def get_queryset(self) -> Any:
        return contacts_visible_to(self.context["request"].user)


class InteractionCreateSerializer(serializers.Serializer):
    customer = VisibleCustomerField()
    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    occurred_at = serializers.DateTimeField(required=False, help_text=_("Now if left out."))
    channel = serializers.ChoiceField(
        choices=InteractionChannel.choices, required=False, allow_blank=True
    )
    contact = VisibleContactField(
        required=False, allow_null=True, help_text=_("One of the customer's contact people.")
    )
    subject = _text(max_length=200)
    body = _text()
    satisfaction = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True
    )
    external_ref = _text(max_length=100)
    custom = CustomValuesInput(target=FieldTarget.INTERACTION)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The interaction form's rule (interactions/forms.py).
        if attrs["kind"] == InteractionKind.COMPLAINT and not attrs.get("satisfaction"):
            raise serializers.ValidationError(
                {"satisfaction": _("Rate how satisfied the customer was with the resolution.")}
            )
        return attrs


class FollowUpSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = FollowUp
        fields = (
            "id",
            "customer",
            "title",
            "notes",
            "due_at",
            "assignee",
            "done_at",
            "done_by",
            "created_by",
            "created_at",
            "version",
        )
        read_only_fields = fields


class AssigneeField(serializers.PrimaryKeyRelatedField):
    """A staff member whose role lets them work on follow-ups, as the form offers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=FollowUp.assignee.field.related_model.objects.none(), **kwargs)

    def get_queryset(self) -> Any:
        return staff_who_follow_up()


class FollowUpWriteSerializer(serializers.Serializer):
    """A follow-up's fields; every one optional on update."""

    title = serializers.CharField(required=False, max_length=200)
    due_at = serializers.DateTimeField(required=False)
    assignee = AssigneeField(required=False)
    notes = _text()


class FollowUpCreateSerializer(FollowUpWriteSerializer):
    customer = VisibleCustomerField()
    title = serializers.CharField(max_length=200)
    due_at = serializers.DateTimeField()
    assignee = AssigneeField(required=False, help_text=_("The caller if left out."))
