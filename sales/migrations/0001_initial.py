# The app's first migration: deals (0002) and the shared pool each start from it.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = [
        ("customers", "0018_job_run_token"),
        ("interactions", "0010_interaction_direction"),
    ]
    operations = []
