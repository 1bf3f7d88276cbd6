from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("accounts.urls")),
    path("api/auth/", include("accounts.api_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("annotations.api.urls")),
    path("audit/", include("annotations.api.audit_urls")),
    path("projects/<slug:slug>/risk/", include("inference.risk.urls")),
    path("", include("inference.urls")),
    path("", include("annotations.urls")),
]
