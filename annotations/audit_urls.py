from django.urls import path

from annotations.views import audit as audit_pages

urlpatterns = [
    path("", audit_pages.audit_event_browse, name="audit-site-event-list"),
    path("export.csv", audit_pages.audit_event_export, name="audit-site-event-export"),
    path("<slug:slug>/", audit_pages.audit_event_browse, name="audit-event-list"),
    path("<slug:slug>/export.csv", audit_pages.audit_event_export, name="audit-event-export"),
]
