from django.apps import AppConfig


class TerminologyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pharmacovigilance.terminology"
    label = "terminology"
    verbose_name = "Terminologies"

    def ready(self) -> None:
        # The job kinds of this app (a terminology load, proposing codes): the jobs registry discovers only
        # inference's own packages, so the app registers its kinds itself.
        from pharmacovigilance.terminology import job_kinds  # noqa: F401
