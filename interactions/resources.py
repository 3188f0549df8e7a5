"""django-import-export resource for the product catalogue (see customers.resources)."""

from __future__ import annotations

from customers.resources import AuditedResource
from interactions import services
from interactions.audit import ProductAction
from interactions.models import Product

PRODUCT_FIELDS = ("sku", "name", "category", "price", "currency", "is_active")


class ProductResource(AuditedResource):
    export_action = ProductAction.ADMIN_EXPORT
    import_action = ProductAction.ADMIN_IMPORT

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS
        export_order = PRODUCT_FIELDS
        import_id_fields = ("sku",)
        skip_unchanged = True
        report_skipped = True
        skip_diff = True

    def do_instance_save(self, instance: Product, is_create: bool) -> None:
        # Through the service: validated and audited like a product saved in the admin form.
        original = None if is_create else Product.objects.get(pk=instance.pk)
        saved = services.save_product(
            actor=self.actor,
            product=original,
            **{field: getattr(instance, field) for field in PRODUCT_FIELDS},
        )
        instance.pk = saved.pk
