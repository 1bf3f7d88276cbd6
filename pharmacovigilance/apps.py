from django.apps import AppConfig


class PharmacovigilanceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pharmacovigilance"
    verbose_name = "Pharmacovigilance cases"
