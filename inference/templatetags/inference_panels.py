"""Panels that inference renders into other apps' pages (the project dashboard), so that those apps show
models and jobs without importing inference: their templates load this library by name."""

from __future__ import annotations

from django import template

from inference.jobs.selectors import job_list
from inference.learning.selectors import model_version_headline

register = template.Library()


@register.inclusion_tag("inference/_dashboard_panel.html")
def dashboard_model_panel(project, jobs_url: str = "") -> dict:
    """The active model with its headline metrics and the latest jobs (3 queries)."""
    model, metrics = model_version_headline(project=project)
    return {"project": project, "model_version": model, "model_metrics": metrics,
            "jobs": list(job_list(project=project, limit=5)), "jobs_url": jobs_url}
