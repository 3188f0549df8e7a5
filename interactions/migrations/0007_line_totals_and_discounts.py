"""Order lines keep the money the source recorded: a line total (after its discount), a unit
price to four places, the discounts of lines and orders. Existing lines get the total their
order's amount was summed from (quantity × unit price, to the cent), in one UPDATE; the next
migration makes the column required, in a transaction of its own: PostgreSQL refuses to alter
a table with the foreign-key checks this UPDATE queued still pending."""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Round


def backfill_line_totals(apps, schema_editor):
    TransactionLine = apps.get_model("interactions", "TransactionLine")
    TransactionLine.objects.update(line_total=Round(F("quantity") * F("unit_price"), 2))


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0006_job_recoveries"),
    ]

    operations = [
        migrations.AddField(
            model_name="transaction",
            name="discount",
            field=models.DecimalField(
                db_default=0,
                decimal_places=2,
                default=0,
                max_digits=14,
                verbose_name="order discount",
            ),
        ),
        migrations.AddField(
            model_name="transactionline",
            name="discount",
            field=models.DecimalField(
                db_default=0, decimal_places=2, default=0, max_digits=14, verbose_name="discount"
            ),
        ),
        migrations.AlterField(
            model_name="transactionline",
            name="unit_price",
            field=models.DecimalField(decimal_places=4, max_digits=16, verbose_name="unit price"),
        ),
        migrations.AddField(
            model_name="transactionline",
            name="line_total",
            field=models.DecimalField(
                decimal_places=2, max_digits=14, null=True, verbose_name="line total"
            ),
        ),
        migrations.RunPython(backfill_line_totals, migrations.RunPython.noop, elidable=True),
    ]
