from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Models and jobs"

    def ready(self) -> None:
        # Registers the tasks and their signal listeners: the risk monitor's (imported notes) and the
        # retrain loop's (gold changed).
        from inference import tasks  # noqa: F401
        from inference.risk import schema_template  # noqa: F401  (the nursing template for new projects)
        from inference.risk import tasks as risk_tasks  # noqa: F401
