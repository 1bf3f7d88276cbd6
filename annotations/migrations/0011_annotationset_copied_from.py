from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [
        ("annotations", "0010_note_ade_evidence"),
    ]

    operations = [
        migrations.AddField(
            model_name="annotationset",
            name="copied_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="annotations.annotationset",
            ),
        ),
    ]
