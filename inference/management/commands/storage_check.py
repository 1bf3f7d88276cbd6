"""Check that this machine reaches the one file store (local disk, or the S3-compatible bucket every web node and
worker shares): write, read back and delete a small file; with --create-bucket first create the configured
bucket when it does not exist (a deployment's first start: docker/compose.yml runs it)."""

from django.core.management.base import CommandError

from ade_review.storage import object_store_bucket_ensure, object_store_in_use, stored_file_probe
from annotations.management.audited import AuditedCommand


class Command(AuditedCommand):
    help = "Check the file store (uploads, exports, model versions): write, read and delete one file."

    def add_arguments(self, parser):
        parser.add_argument("--create-bucket", action="store_true",
                            help="create the configured bucket (private) when it does not exist")

    def handle(self, *args, **options):
        where = "the S3-compatible bucket" if object_store_in_use() else "the local disk (MEDIA_ROOT)"
        try:
            if options["create_bucket"] and object_store_bucket_ensure():
                self.stdout.write("created the bucket")
            stored_file_probe()
        except Exception as exc:  # noqa: BLE001 - a clear failure for the operator, never a traceback of secrets
            # The step and the error's kind or S3 code, never the bucket, endpoint or credentials.
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
            reason = str(exc) if isinstance(exc, RuntimeError) else f"{type(exc).__name__}{f' {code}' if code else ''}"
            raise CommandError(f"{where}: {reason}") from None
        self.stdout.write(f"the file store works: {where}")
