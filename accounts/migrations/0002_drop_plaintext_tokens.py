# DRF's authtoken table held every API token in plaintext; the app no longer uses it (accounts.ApiToken stores
# hashes). Dropping it revokes those tokens: their holders ask POST /api/auth/token/ for new ones.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", reverse_sql=migrations.RunSQL.noop),
    ]
