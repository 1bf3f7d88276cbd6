from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Models and jobs"

    def ready(self) -> None:
        # Registers the risk monitor's task and its listener for imported notes.
        from . import risk_tasks  # noqa: F401
