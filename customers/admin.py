"""Admin for customers. Personal data is masked for staff without `view_personal_data`, and
every change goes through the customer services (normalised and audited like the app)."""

from django.contrib import admin
from django.db import models
from import_export.admin import ImportExportMixin

from customers import services
from customers.models import (
    Contact,
    Customer,
    ExternalId,
    LifecycleStageChange,
    SavedView,
    Tag,
)
from customers.presentation import display_personal
from customers.resources import CustomerResource, ImportExportAdminMixin
from customers.selectors import (
    can_view_personal_data,
    customers_visible_to,
    sees_all_personal_data,
)
from kernel.version_forms import VersionedAdminMixin, edited_values
from privacy.admin import ReadOnlyAdmin

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


def _masked_column(field: str, request, *, model=Customer):
    """A list column showing a personal field of a customer (or of a customer's contact)
    as this request's user may see it."""

    def column(obj) -> str:
        customer = obj if model is Customer else obj.customer
        return display_personal(request.user, customer, field, record=obj)

    column.short_description = model._meta.get_field(field).verbose_name
    column.__name__ = f"masked_{field}"
    return column


def _masked_stand_ins(request, model, fields) -> dict:
    """Read-only masked columns replacing personal fields in a change form. Cached on the
    request so that get_fields and get_readonly_fields return the very same callables."""
    cache = request.__dict__.setdefault("_masked_admin_columns", {})
    return {
        field: cache.setdefault((model, field), _masked_column(field, request, model=model))
        for field in fields
    }


def _substitute(layout, replacements: dict):
    return [
        tuple(replacements.get(name, name) for name in row)
        if isinstance(row, tuple)
        else replacements.get(row, row)
        for row in layout
    ]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("name", "title", "decision_role", "phone", "email", "is_primary")
    readonly_fields = fields
    can_delete = False
    show_change_link = False

    def get_fields(self, request, obj=None):
        if obj is None or can_view_personal_data(request.user, obj):
            return self.fields
        return _substitute(self.fields, _masked_stand_ins(request, Contact, ("phone", "email")))

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        # Contacts are added on the customer page, where the service normalises them.
        return False


class PersonalDataSearchMixin:
    """Admin's search box matches a phone or an email only for whoever sees every customer's
    personal data unmasked: for anyone else a match would confirm a value the list masks."""

    PERSONAL_SEARCH_FIELDS = frozenset({"=phone", "=email"})

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if sees_all_personal_data(request.user):
            return fields
        return tuple(field for field in fields if field not in self.PERSONAL_SEARCH_FIELDS)


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0
    fields = ("system", "external_id", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(
    PersonalDataSearchMixin,
    VersionedAdminMixin,
    ImportExportAdminMixin,
    ImportExportMixin,
    admin.ModelAdmin,
):
    resource_classes = [CustomerResource]
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
        ("phone", "phone_verified"),
        ("email", "email_verified"),
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

    def _masked_fields(self, request, obj) -> dict:
        if obj is None or can_view_personal_data(request.user, obj):
            return {}
        return _masked_stand_ins(request, Customer, MASKED_FORM_FIELDS)

    def get_fields(self, request, obj=None):
        # A new customer has no timestamps, so the add form leaves out the last row.
        layout = self.fields if obj is not None else self.fields[:-1]
        return _substitute(layout, self._masked_fields(request, obj))

    def get_readonly_fields(self, request, obj=None):
        return [*READONLY_FIELDS, *self._masked_fields(request, obj).values()]

    def save_model(self, request, obj, form, change) -> None:
        values = {name: form.cleaned_data[name] for name in form.changed_data if name != "tags"}
        if change:
            current = Customer.objects.get(pk=obj.pk)
            saved = services.update_customer(
                actor=request.user,
                customer=current,
                expected_version=form.expected_version,
                **values,
            )
        else:
            values.setdefault("name", form.cleaned_data["name"])
            saved = services.create_customer(actor=request.user, **values)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change) -> None:
        # The inlines are read-only; saving them writes nothing but records what changed.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        # After save_model, in the same transaction: the version it just wrote is the one.
        services.set_customer_tags(
            actor=request.user,
            customer=form.instance,
            tags=form.cleaned_data["tags"],
            expected_version=form.instance.row_version,
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        # Customers are archived or erased through the privacy tools, never hard-deleted here.
        return False


@admin.register(Contact)
class ContactAdmin(PersonalDataSearchMixin, admin.ModelAdmin):
    """Contact people, read-only here (the customer page edits them through the service)."""

    list_filter = ("decision_role", "is_primary")
    search_fields = ("name", "customer__name", "=phone", "=email")
    list_select_related = ("customer",)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(customer__in=customers_visible_to(request.user))

    def get_list_display(self, request):
        return (
            "name",
            "customer",
            "title",
            "decision_role",
            _masked_column("phone", request, model=Contact),
            _masked_column("email", request, model=Contact),
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExternalId)
class ExternalIdAdmin(admin.ModelAdmin):
    list_display = ("system", "external_id", "customer", "created_at")
    list_filter = ("system",)
    search_fields = ("=external_id",)
    list_select_related = ("customer",)
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(customer__in=customers_visible_to(request.user))

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "is_shared", "created_at")
    list_filter = ("is_shared",)
    search_fields = ("name", "owner__username")
    list_select_related = ("owner",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "group", "colour")
    list_filter = ("group",)
    search_fields = ("name",)

    def save_model(self, request, obj, form, change) -> None:
        original = Tag.objects.get(pk=obj.pk) if change else None
        saved = services.save_tag(
            actor=request.user,
            tag=original,
            expected_version=form.expected_version,
            **edited_values(form),
        )
        obj.pk = saved.pk


@admin.register(LifecycleStageChange)
class LifecycleStageChangeAdmin(ReadOnlyAdmin):
    list_display = ("customer", "from_stage", "to_stage", "changed_at", "changed_by")
    list_filter = ("to_stage",)
    list_select_related = ("customer", "changed_by")
    search_fields = ("customer__name",)


admin.site.empty_value_display = "—"
