"""A salesperson's board totals from their own deals' entries (sales/deals/selectors.py
board_columns), not from the whole pipeline's."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0019_customer_owner_active_at"),
        ("interactions", "0010_interaction_direction"),
        ("sales", "0006_deal_title_trigram"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                fields=["owner", "pipeline", "stage"],
                include=("amount", "customer", "closed_at"),
                name="deal_owner_board_idx",
            ),
        ),
    ]
