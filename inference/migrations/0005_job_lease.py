# The job lease: running jobs record a heartbeat; the reaper fails those whose worker stopped (issue 13).
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("inference", "0004_active_learning_loop")]
    operations = [
        migrations.AddField(
            model_name="job",
            name="heartbeat_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Last sign of life of the worker running it (a chunk, a batch, progress); the reaper fails "
                "running jobs whose heartbeat is older than ADE_REVIEW_JOB_LEASE_S.",
                null=True,
            ),
        ),
    ]
