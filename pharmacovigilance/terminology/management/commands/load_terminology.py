"""Load a terminology the hospital holds, e.g.

    python manage.py load_terminology --system meddra --version 27.0 MedDRA_27_0_English/MedAscii
    python manage.py load_terminology --system atc --version 2024 atc_2024.csv
    python manage.py load_terminology --system snomed --version 20240101 SnomedCT_InternationalRF2.zip

The path is a folder, a .zip or one file. The new version replaces the current one in one transaction; a
file with any problem loads nothing and every problem is listed (file, line, reason). Audited as the
command (and the load's own record)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from annotations.errors import ApplicationError
from annotations.management.audited import AuditedCommand
from pharmacovigilance.core.terminology import System
from pharmacovigilance.terminology.services import terminology_load


class Command(AuditedCommand):
    help = "Load MedDRA (ASCII distribution), ATC (code,name CSV/TSV) or SNOMED CT (RF2 descriptions) as the current version."

    def add_base_argument(self, parser, *args, **kwargs):
        # `--version` names the terminology's version here, not Django's (which `manage.py version` prints).
        if "--version" not in args:
            super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="a folder, a .zip, or one file")
        parser.add_argument("--system", required=True, choices=[s.value for s in System])
        parser.add_argument("--version", required=True, dest="terminology_version",
                            help="the version people see and exports carry (27.0, 2024-01 ...)")

    def handle(self, *args, **options):
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file or directory")
        try:
            result = terminology_load(by=None, system=options["system"], version=options["terminology_version"],
                                      files=path)
        except ApplicationError as exc:
            problems = (exc.details or {}).get("problems") if isinstance(exc.details, dict) else None
            if problems:
                lines = [f"  {p['file']}:{p['line']}: {p['reason']}" if p["line"] else f"  {p['file']}: {p['reason']}"
                         for p in problems]
                raise CommandError("nothing loaded:\n" + "\n".join(lines)) from exc
            raise CommandError(exc.message) from exc
        counts = ", ".join(f"{n:,} {level}" for level, n in result.counts.items())
        replaced = f"; replaced {result.replaced.version}" if result.replaced else ""
        self.stdout.write(f"loaded {result.terminology}: {counts}{replaced}")
