"""The deal forms: a deal with its lines (a formset), a move to another stage, the won step
and the pipeline settings."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.fields import StaffChoiceField
from accounts.teams import managed_member_ids
from accounts.users import active_staff_holding
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.value_forms import CustomValuesFormMixin
from customers.selectors import can_view_personal_data
from interactions.models import Product, SalesChannel
from kernel.actors import Actor
from kernel.version_forms import VersionedFormMixin
from sales.models import Deal, DealLine, Pipeline, Stage, StageKind


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


def deal_owners(user: Actor):
    """Whom `user` may give a deal to or filter deals by: active users whose role lets them
    work on deals; for a team's manager who does not see every deal, themselves and their
    members (a deal given to anyone else would leave their sight)."""
    owners = active_staff_holding("sales.change_deal")
    if user.has_perm("sales.view_all_deals"):
        return owners
    return owners.filter(pk__in={user.pk, *managed_member_ids(user)})


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Stage) -> str:
        return f"{obj.pipeline.display_name} — {obj.display_name}"


class DealForm(CustomValuesFormMixin, VersionedFormMixin, forms.ModelForm):
    """A deal's own fields, then the administrators' custom fields for deals by group. The
    customer comes from the page (chosen by search, or the customer page's button), never
    from a posted id. A new deal picks its starting stage among the open stages; an existing
    one moves on the board or its page."""

    stage = StageChoiceField(queryset=Stage.objects.none(), label=_("Stage"))

    class Meta:
        model = Deal
        fields = [
            "title",
            "contact",
            "amount",
            "currency",
            "expected_close_date",
            "owner",
            "notes",
        ]
        field_classes = {"owner": StaffChoiceField}
        widgets = {
            "expected_close_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"amount": _("Leave empty to use the total of the products below.")}

    def __init__(self, *args, customer, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["contact"].queryset = customer.contacts.all()
        self.fields["amount"].required = False
        self.fields["amount"].widget.attrs["min"] = "0"
        if self.instance.pk:
            del self.fields["stage"]
        else:
            self.fields["stage"].queryset = (
                Stage.objects.filter(pipeline__active=True, kind=StageKind.OPEN)
                .select_related("pipeline")
                .order_by("-pipeline__is_default", "pipeline__ordering", "pipeline", "order")
            )
            self.fields["stage"].initial = self.fields["stage"].queryset.first()
        from sales.deals.selectors import sees_other_owners

        if sees_other_owners(user):
            self.fields["owner"].queryset = deal_owners(user)
            self.fields["owner"].required = False
        else:
            del self.fields["owner"]
        self.add_custom_inputs(
            defined_fields(FieldTarget.DEAL),
            self.instance.custom or {},
            # A new deal holds nothing yet: its personal inputs show nothing hidden.
            sees_personal=not self.instance.pk or can_view_personal_data(user, customer),
        )

    def _post_clean(self) -> None:
        # The service validates the whole deal; the form checks the inputs only.
        pass


class DealLineForm(forms.ModelForm):
    class Meta:
        model = DealLine
        fields = ["product", "quantity", "unit_price"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.filter(is_active=True).order_by("name")
        self.fields["quantity"].widget.attrs["min"] = "0.001"
        self.fields["unit_price"].widget.attrs["min"] = "0"
        # A line without a product is an unused row (the form shows spare ones): ignored.
        for field in self.fields.values():
            field.required = False

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("product"):
            for field in ("quantity", "unit_price"):
                if cleaned.get(field) is None:
                    self.add_error(
                        field,
                        _("Enter the product's %(field)s.") % {"field": self.fields[field].label},
                    )
        return cleaned

    def _post_clean(self) -> None:
        pass


DealLineFormSet = forms.formset_factory(DealLineForm, extra=2, can_delete=True, max_num=50)


def lines_of(formset) -> list[dict]:
    """The formset's filled, not deleted lines, as the services take them."""
    return [
        {
            "product": form.cleaned_data["product"],
            "quantity": form.cleaned_data["quantity"],
            "unit_price": form.cleaned_data["unit_price"],
        }
        for form in formset.forms
        if form.cleaned_data
        and not form.cleaned_data.get("DELETE")
        and form.cleaned_data.get("product")
    ]


class MoveForm(forms.Form):
    """Move a deal to another stage of its pipeline (the board's drop, or its no-script form)."""

    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), label=_("Stage"))
    lost_reason = forms.CharField(label=_("Why was it lost?"), max_length=300, required=False)

    def __init__(self, *args, pipeline: Pipeline, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = pipeline.stages.order_by("order", "pk")


class WinForm(forms.Form):
    record_purchase = forms.BooleanField(
        label=_("Record the purchase (the deal's products, or its amount)"),
        required=False,
        initial=True,
    )
    channel = forms.ChoiceField(
        label=_("Sales channel"), choices=SalesChannel.choices, initial=SalesChannel.OTHER
    )


class PipelineForm(forms.ModelForm):
    class Meta:
        model = Pipeline
        fields = ["name", "name_zh", "ordering", "is_default", "active"]

    def _post_clean(self) -> None:
        pass


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = ["name", "name_zh", "order", "win_probability", "kind"]
        widgets = {"win_probability": forms.NumberInput(attrs={"min": 0, "max": 100})}

    def _post_clean(self) -> None:
        pass
