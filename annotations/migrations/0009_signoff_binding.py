"""A sign-off names the set version it approves and records the reviewer's final verdict and what became
of the set (gold, or returned to its annotator); the note keeps the final verdict."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("annotations", "0008_audit_append_only")]

    operations = [
        migrations.AddField(
            model_name="note",
            name="final_verdict",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.AddField(
            model_name="signoff",
            name="annotation_set_version",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="signoff",
            name="final_verdict",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.AddField(
            model_name="signoff",
            name="outcome",
            field=models.CharField(
                choices=[("gold", "The set became the note's gold"), ("returned", "Returned to the annotator")],
                default="gold",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="note",
            name="review_status",
            field=models.CharField(
                choices=[
                    ("unreviewed", "Unreviewed"),
                    ("in_progress", "In progress"),
                    ("submitted", "Submitted"),
                    ("returned", "Returned to annotator"),
                    ("signed_off", "Signed off"),
                ],
                default="unreviewed",
                max_length=20,
            ),
        ),
    ]
