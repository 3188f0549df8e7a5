"""Every line has its total (backfilled by 0007): the column becomes required."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("interactions", "0007_line_totals_and_discounts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="transactionline",
            name="line_total",
            field=models.DecimalField(decimal_places=2, max_digits=14, verbose_name="line total"),
        ),
    ]
