"""The guard of the demo seeders: they create users with a known password, so they run only where the
settings allow demo data (ADE_REVIEW_DEMO_ALLOWED: local and test settings) or when told so explicitly."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from annotations.management.audited import AuditedCommand

FORCE_FLAG = "--force-demo-on-this-database"


class DemoCommand(AuditedCommand):
    """Base of seed_demo and seed_risk_demo; subclasses call super().add_arguments(parser)."""

    def add_arguments(self, parser):
        parser.add_argument(FORCE_FLAG, action="store_true", dest="force_demo",
                            help="Seed demo users (known password) and synthetic notes even where settings forbid it.")

    def execute(self, *args, **options):
        if not settings.ADE_REVIEW_DEMO_ALLOWED and not options.get("force_demo"):
            raise CommandError(
                f"Refusing to write demo data (users with a known password) under {settings.SETTINGS_MODULE}: "
                f"demo data belongs to the local and test settings. Add {FORCE_FLAG} if this database really "
                "is a demo."
            )
        return super().execute(*args, **options)
