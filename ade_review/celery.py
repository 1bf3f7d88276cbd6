import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ade_review.settings.local")

app = Celery("ade_review")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
