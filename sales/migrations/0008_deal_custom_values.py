from django.db import migrations, models

from kernel.gin_indexes import JsonContainmentIndex


class Migration(migrations.Migration):
    dependencies = [
        ("sales", "0007_deal_owner_board_index"),
        ("customers", "0023_custom_values_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="deal",
            name="custom",
            field=models.JSONField(
                blank=True,
                db_default=models.Value({}, output_field=models.JSONField()),
                default=dict,
                verbose_name="custom fields",
            ),
        ),
        # The deal list's filters on custom values are containment tests, as the customer
        # list's are (customers' 0023): one GIN index serves every key.
        JsonContainmentIndex(
            table="sales_deal", name="deal_custom_values_gin", expression="custom"
        ),
    ]
