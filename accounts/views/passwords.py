"""The password change page, also where a person who must change their password is sent."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from ..forms import PasswordChangeForm
from ..middleware import SESSION_MUST_CHANGE


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's view with a form that refuses the current password again. When the change was forced, the
    person goes on to where they were going (`next`, else the project list) instead of the "done" page."""

    form_class = PasswordChangeForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["forced"] = bool(self.request.session.get(SESSION_MUST_CHANGE))
        context["next"] = self._next_url() or ""
        return context

    def _next_url(self) -> str | None:
        candidate = self.request.POST.get("next") or self.request.GET.get("next") or ""
        if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={self.request.get_host()},
                                                         require_https=self.request.is_secure()):
            return candidate
        return None

    def form_valid(self, form):
        forced = bool(self.request.session.get(SESSION_MUST_CHANGE))
        response = super().form_valid(form)  # saves (the flag is cleared: accounts.signals), keeps the session
        if not forced:
            return response
        self.request.session.pop(SESSION_MUST_CHANGE, None)
        messages.success(self.request, "Your password has been changed.")
        return redirect(self._next_url() or resolve_url(settings.LOGIN_REDIRECT_URL))
