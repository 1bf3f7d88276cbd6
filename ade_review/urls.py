from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from annotations.api.login_throttle import ThrottledLoginView

urlpatterns = [
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("annotations.api.urls")),
    path("audit/", include("annotations.api.audit_urls")),
    path("projects/<slug:slug>/risk/", include("inference.risk_urls")),
    path("", include("inference.urls")),
    path("", include("annotations.urls")),
]
