"""django-import-export resources for Django admin's import and export buttons.

They are a second door into the same rooms: every imported row goes through
customers.services (normalise_profile, create_customer / update_customer: validated and
audited per customer), exports mask personal data unless the administrator holds
`export_personal_data`, cells are formula-safe, and each admin import or export is audited.
The import wizard (customers.imports) remains the way in for large and messy files."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from import_export import fields, resources

from customers import services
from customers.audit import CustomerAction
from customers.models import Customer
from privacy.audit.recording import record_event
from privacy.masking import mask
from privacy.models import ConsentSource
from privacy.tabular import neutralise, unneutralise

# The profile as the customer form edits it; owners and company sizes stay out of files.
ADMIN_FIELDS = ("id", *(f for f in services.PROFILE_FIELDS if f not in ("owner", "company_size")))
_MASKED = {"phone": "phone", "email": "email", "street": "street", "postcode": "postcode"}


class AuditedResource(resources.ModelResource):
    """Knows who imports or exports (`actor`), audits both, and keeps cells formula-safe.
    Each resource names its audit actions (`export_action`, `import_action`)."""

    export_action: ClassVar[models.TextChoices]
    import_action: ClassVar[models.TextChoices]

    def __init__(self, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor = actor

    def export_field(self, field, instance, **kwargs):
        return neutralise(super().export_field(field, instance, **kwargs))

    def after_export(self, queryset, dataset, **kwargs) -> None:
        record_event(
            actor=self.actor,
            action=self.export_action,
            changes={"rows": len(dataset)},
        )

    def after_import(self, dataset, result, **kwargs) -> None:
        if not kwargs.get("dry_run"):
            record_event(
                actor=self.actor,
                action=self.import_action,
                changes={key: value for key, value in result.totals.items() if value},
            )


class CustomerResource(AuditedResource):
    export_action = CustomerAction.ADMIN_EXPORT
    import_action = CustomerAction.ADMIN_IMPORT

    class Meta:
        model = Customer
        fields = ADMIN_FIELDS
        export_order = ADMIN_FIELDS
        import_id_fields = ("id",)
        skip_unchanged = True
        report_skipped = True
        skip_diff = True

    def __init__(self, actor: Any = None, **kwargs: Any) -> None:
        super().__init__(actor=actor, **kwargs)
        # Unmasked only for those who may export personal data.
        self.unmasked = actor is not None and actor.has_perm("customers.export_personal_data")

    def dehydrate_field(self, field: fields.Field, instance: Customer) -> Any:
        value = field.get_value(instance)
        if field.attribute in _MASKED and not self.unmasked:
            return mask(_MASKED[field.attribute], value or "")
        return value

    def export_field(self, field, instance, **kwargs):
        if field.attribute in _MASKED:
            return neutralise(self.dehydrate_field(field, instance))
        return super().export_field(field, instance, **kwargs)

    def import_instance(self, instance: Customer, row, **kwargs) -> None:
        """Normalise the row as the forms and the import wizard do; only non-empty cells
        count, so an empty cell never erases a value."""
        raw = {
            key: unneutralise(str(row[key]).strip())
            for key in ADMIN_FIELDS
            if key != "id" and key in row and row[key] not in (None, "")
        }
        # In the customer's context, as update_customer normalises it (skip_row compares).
        clean = services.normalise_profile(
            raw, country=instance.country, province=instance.province
        )
        if "name" not in clean and instance.pk is None:
            raise ValidationError(
                {"name": Customer._meta.get_field("name").error_messages["blank"]}
            )
        instance.raw_import_values = raw
        instance.values_before_import = {key: getattr(instance, key) for key in ADMIN_FIELDS}
        for key, value in clean.items():
            setattr(instance, key, value)

    def skip_row(self, instance, original, row, import_validation_errors=None) -> bool:
        if import_validation_errors or instance.pk is None:
            return False
        before = instance.values_before_import
        return all(getattr(instance, key) == before[key] for key in ADMIN_FIELDS)

    def do_instance_save(self, instance: Customer, is_create: bool) -> None:
        # One write path: the services validate, record stage history and audit.
        values = {**instance.raw_import_values, "consent_source": ConsentSource.IMPORT}
        if is_create:
            instance.pk = services.create_customer(actor=self.actor, **values).pk
        else:
            services.update_customer(
                actor=self.actor, customer=Customer.objects.get(pk=instance.pk), **values
            )


class ImportExportAdminMixin:
    """For a ModelAdmin with ImportExportMixin: the admin's user is the resource's actor, and
    the buttons follow the product's permissions rather than add/change."""

    import_permission = "customers.import_customers"
    export_permission = "customers.export_customers"

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {**super().get_resource_kwargs(request, *args, **kwargs), "actor": request.user}

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm(self.import_permission)

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm(self.export_permission)
