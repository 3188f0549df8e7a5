# The owner's last activity on a customer, for the shared pool (sales/pool). Customers owned when
# the pool arrives start their idle clock now: none is released on the first night for idleness
# that happened before anyone was told about the rule.
import django.db.models
from django.db import migrations, models
from django.utils import timezone


def start_owner_clocks(apps, schema_editor):
    Customer = apps.get_model("customers", "Customer")
    Customer.objects.filter(owner__isnull=False).update(owner_active_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [("customers", "0018_job_run_token")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="owner_active_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="owner last active"
            ),
        ),
        migrations.RunPython(start_owner_clocks, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=django.db.models.Q(("owner__isnull", False)),
                fields=["owner_active_at"],
                name="customer_owner_active_idx",
            ),
        ),
    ]
