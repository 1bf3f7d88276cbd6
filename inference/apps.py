from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    verbose_name = "Models and jobs"

    def ready(self) -> None:
        # Registers the tasks and their signal listeners: the risk monitor's (imported notes) and the
        # retrain loop's (gold changed).
        from annotations.models import AssignmentOrder
        from annotations.services.assignment import assignment_order_register
        from inference import tasks  # noqa: F401
        from inference.learning.selectors import annotation_queue_order
        from inference.risk import schema_template  # noqa: F401  (the nursing template for new projects)
        from inference.risk import tasks as risk_tasks  # noqa: F401

        # Notes are handed out to annotators in the annotation queue's order in projects ordered by active
        # learning (annotations.services.assignment knows nothing of models).
        assignment_order_register(AssignmentOrder.ACTIVE_LEARNING, annotation_queue_order)
