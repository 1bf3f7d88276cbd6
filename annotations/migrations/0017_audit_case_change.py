# The audit trail's action "case_change" (pharmacovigilance cases, issue 18).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0016_audit_terminology_load'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('note_view', 'Note viewed'), ('annotation_change', 'Annotations changed'), ('sign_off', 'Signed off'), ('job_start', 'Job started'), ('job_cancel', 'Job cancelled'), ('export', 'Export'), ('download', 'Download'), ('login_success', 'Login'), ('login_failure', 'Failed login'), ('note_create', 'Note created'), ('model_change', 'Retrain policy or active model changed'), ('access_denied', 'Access denied'), ('command', 'Management command'), ('project_change', 'Project created, changed, archived or deleted'), ('member_change', 'Project member added, changed or removed'), ('schema_change', 'Annotation schema changed'), ('user_change', 'User created, changed or deactivated'), ('token_change', 'API token created or revoked'), ('assignment_change', 'Note assigned, unassigned, reassigned or released'), ('terminology_load', 'Terminology loaded (MedDRA, ATC, SNOMED CT)'), ('case_change', 'Case opened, changed, assessed or reported')], max_length=30),
        ),
    ]
