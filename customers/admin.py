"""Admin for customers. Personal data is masked for staff without `view_personal_data`, and
every change goes through the customer services (normalised and audited like the app)."""

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers import services
from customers.models import Contact, Customer, ExternalId, LifecycleStageChange, Tag
from customers.presentation import display_personal
from customers.selectors import can_view_personal_data, customers_visible_to

MASKED_FORM_FIELDS = ("phone", "email", "street", "postcode")
READONLY_FIELDS = (
    "id_document_kind",
    "id_number_masked",
    "created_at",
    "updated_at",
    "last_activity_at",
    "archived_at",
    "merged_into",
)


def _masked_column(field: str, request):
    def column(customer: Customer) -> str:
        return display_personal(request.user, customer, field)

    column.short_description = Customer._meta.get_field(field).verbose_name
    column.__name__ = f"masked_{field}"
    return column


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("name", "title", "decision_role", "phone", "email", "is_primary")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        # Contacts are added on the customer page, where the service normalises them.
        return False


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0
    fields = ("system", "external_id", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_filter = ("kind", "lifecycle_stage", "value_grade", "source_channel", "province")
    search_fields = ("name", "company_name", "=phone", "=email", "external_ids__external_id")
    list_select_related = ("owner",)
    autocomplete_fields = ("owner",)
    inlines = (ContactInline, ExternalIdInline)
    show_full_result_count = False
    fields = (
        ("kind", "name"),
        ("family_name", "given_name"),
        ("gender", "birth_date"),
        ("phone", "email"),
        ("id_document_kind", "id_number_masked"),
        ("country", "province", "city", "district"),
        ("street", "postcode"),
        ("company_name", "industry", "company_size", "website"),
        ("lifecycle_stage", "value_grade"),
        ("source_channel", "source_detail"),
        "owner",
        "tags",
        "notes",
        ("consent_email", "consent_sms", "consent_phone"),
        # Timestamps last: a new customer has none, so the add form leaves this row out.
        ("created_at", "updated_at", "last_activity_at", "archived_at", "merged_into"),
    )
    filter_horizontal = ("tags",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return customers_visible_to(request.user).select_related("owner")

    def get_list_display(self, request):
        return (
            "name",
            _masked_column("phone", request),
            _masked_column("email", request),
            "city",
            "lifecycle_stage",
            "owner",
            "last_activity_at",
        )

    def _masked_fields(self, request, obj):
        """Read-only masked stand-ins for personal fields, when this user may not see them.
        Cached on the request so get_fields and get_readonly_fields share the same callables."""
        if obj is None or can_view_personal_data(request.user, obj):
            return {}
        if not hasattr(request, "_masked_admin_fields"):
            request._masked_admin_fields = {
                field: _masked_column(field, request) for field in MASKED_FORM_FIELDS
            }
        return request._masked_admin_fields

    def get_fields(self, request, obj=None):
        layout = self.fields if obj is not None else self.fields[:-1]
        masked = self._masked_fields(request, obj)
        if not masked:
            return layout
        return [
            tuple(masked.get(name, name) for name in row)
            if isinstance(row, tuple)
            else masked.get(row, row)
            for row in layout
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*READONLY_FIELDS, *self._masked_fields(request, obj).values()]

    def save_model(self, request, obj, form, change) -> None:
        values = {name: form.cleaned_data[name] for name in form.changed_data if name != "tags"}
        if change:
            current = Customer.objects.get(pk=obj.pk)
            saved = services.update_customer(actor=request.user, customer=current, **values)
        else:
            values.setdefault("name", form.cleaned_data["name"])
            saved = services.create_customer(actor=request.user, **values)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change) -> None:
        # The inlines are read-only; saving them writes nothing but records what changed.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        services.set_customer_tags(
            actor=request.user, customer=form.instance, tags=form.cleaned_data["tags"]
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Customers are archived or erased through the privacy tools, never hard-deleted here.
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "group", "colour")
    list_filter = ("group",)
    search_fields = ("name",)


@admin.register(LifecycleStageChange)
class LifecycleStageChangeAdmin(admin.ModelAdmin):
    list_display = ("customer", "from_stage", "to_stage", "changed_at", "changed_by")
    list_filter = ("to_stage",)
    list_select_related = ("customer", "changed_by")
    search_fields = ("customer__name",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


admin.site.empty_value_display = _("—")
