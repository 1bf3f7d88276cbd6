from django.contrib import admin
from django.urls import include, path, re_path

from annotations.api.base import api_not_found

urlpatterns = [
    path("accounts/", include("accounts.urls")),
    path("api/auth/", include("accounts.api_urls")),
    path("admin/", admin.site.urls),
    path("api/", include("annotations.api.urls")),
    path("api/", include("inference.api_urls")),
    path("api/users/", include("accounts.user_api_urls")),
    path("api/", include("pharmacovigilance.terminology.api_urls")),
    path("api/", include("pharmacovigilance.exports.api_urls")),
    path("api/", include("pharmacovigilance.api_urls")),
    # Anything else under /api/ is a JSON 404 (not Django's HTML page).
    re_path(r"^api/[\s\S]*$", api_not_found, name="api-not-found"),
    path("audit/", include("annotations.audit_urls")),
    path("projects/<slug:slug>/risk/", include("inference.risk.urls")),
    path("projects/<slug:slug>/safety/", include("pharmacovigilance.safety.urls")),
    path("projects/<slug:slug>/cases/export/", include("pharmacovigilance.exports.urls")),
    path("projects/<slug:slug>/cases/", include("pharmacovigilance.urls")),
    path("terminology/", include("pharmacovigilance.terminology.urls")),
    path("", include("inference.urls")),
    path("", include("annotations.urls")),
]

handler403 = "ade_review.error_pages.permission_denied"
handler404 = "ade_review.error_pages.page_not_found"
handler500 = "ade_review.error_pages.server_error"
