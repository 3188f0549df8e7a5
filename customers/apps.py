from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers.services import ID_NUMBER_CONTEXT
        from privacy.rotation import register_encrypted_column

        register_encrypted_column("customers.Customer", "id_number_encrypted", ID_NUMBER_CONTEXT)
