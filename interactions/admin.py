"""Admin for purchases and interactions: browsing and correcting reference data. Records about
customers are created through the app (services), so they are read-only here."""

from django.contrib import admin
from import_export.admin import ImportExportMixin

from customers.resources import ImportExportAdminMixin
from interactions import services
from interactions.models import (
    ArchivedInteraction,
    ArchiveRun,
    FollowUp,
    Interaction,
    Product,
    Transaction,
    TransactionLine,
)
from interactions.resources import ProductResource
from kernel.version_forms import VersionedAdminMixin, edited_values


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(
    VersionedAdminMixin, ImportExportAdminMixin, ImportExportMixin, admin.ModelAdmin
):
    resource_classes = [ProductResource]
    list_display = ("sku", "name", "category", "price", "currency", "is_active")
    list_filter = ("category", "is_active")
    search_fields = ("sku", "name")

    def save_model(self, request, obj, form, change) -> None:
        original = Product.objects.get(pk=obj.pk) if change else None
        saved = services.save_product(
            actor=request.user,
            product=original,
            expected_version=form.expected_version,
            **edited_values(form),
        )
        obj.pk = saved.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        # Past orders refer to products; retire one by unticking "active".
        return False


class TransactionLineInline(admin.TabularInline):
    model = TransactionLine
    extra = 0
    fields = ("product", "description", "quantity", "unit_price", "discount", "line_total")
    readonly_fields = fields
    can_delete = False


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "external_ref",
        "customer",
        "occurred_at",
        "channel",
        "status",
        "amount",
        "discount",
        "currency",
    )
    list_filter = ("channel", "status", "currency")
    search_fields = ("=external_ref",)
    date_hierarchy = "occurred_at"
    list_select_related = ("customer",)
    inlines = (TransactionLineInline,)


@admin.register(TransactionLine)
class TransactionLineAdmin(ReadOnlyAdmin):
    list_display = (
        "transaction",
        "product",
        "description",
        "quantity",
        "unit_price",
        "discount",
        "line_total",
    )
    list_select_related = ("transaction", "product")
    search_fields = ("=transaction__external_ref", "product__sku")


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdmin):
    list_display = ("occurred_at", "kind", "channel", "customer", "staff", "satisfaction")
    list_filter = ("kind", "channel", "satisfaction")
    search_fields = ("=external_ref", "subject")
    date_hierarchy = "occurred_at"
    list_select_related = ("customer", "staff")
    # Free text and custom values (personal ones unmasked, sealed ones as ciphertext) stay on
    # the customer's page, where they are masked and revealed as the viewer may.
    exclude = ("body", "custom")


@admin.register(ArchivedInteraction)
class ArchivedInteractionAdmin(InteractionAdmin):
    list_display = (*InteractionAdmin.list_display, "archived_at")
    # The date drill-down reads the whole table for its first and last dates: too much for
    # the archive, which has no index on the date alone.
    date_hierarchy = None


@admin.register(ArchiveRun)
class ArchiveRunAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "dry_run",
        "status",
        "cutoff",
        "rows_total",
        "rows_done",
        "finished_at",
        "created_by",
    )
    list_filter = ("status", "dry_run")


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ("title", "customer", "assignee", "due_at", "done_at")
    list_filter = ("done_at",)
    list_select_related = ("customer", "assignee")
