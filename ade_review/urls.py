from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("accounts/", include("accounts.urls")),
    path("api/auth/", include("accounts.api_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("annotations.api.urls")),
    path("audit/", include("annotations.api.audit_urls")),
    path("projects/<slug:slug>/risk/", include("inference.risk_urls")),
    path("", include("inference.urls")),
    path("", include("annotations.urls")),
]

handler403 = "ade_review.error_pages.permission_denied"
handler404 = "ade_review.error_pages.page_not_found"
handler500 = "ade_review.error_pages.server_error"
