from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Notes and annotations"

    def ready(self) -> None:
        # Logins and failed logins are audit records.
        from annotations.audit import receivers  # noqa: F401
