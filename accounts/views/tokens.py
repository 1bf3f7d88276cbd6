"""A person's own API tokens: create a named one (its secret shown once), list them, revoke one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from annotations.errors import ApplicationError

from .. import selectors, services
from ..forms import TokenCreateForm

# Scripts that sign in on every run pile up tokens (expired ones included): the page shows the newest.
SHOWN_TOKENS = 100


def _panel_context(request: HttpRequest, form: TokenCreateForm, created=None, secret: str | None = None) -> dict:
    tokens = selectors.api_token_list_for_user(user=request.user)
    shown = list(tokens[:SHOWN_TOKENS + 1])
    return {"tokens": shown[:SHOWN_TOKENS], "more": len(shown) > SHOWN_TOKENS, "form": form,
            "created": created, "secret": secret}


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    """GET lists the tokens; POST creates one and answers with its secret, once (the whole page, or the
    token panel for HTMX)."""
    form = TokenCreateForm(request.POST or None)
    created = secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created, secret = services.api_token_issue(user=request.user, name=form.cleaned_data["name"],
                                                           via="token_page")
            except ApplicationError as error:
                form.add_error("name", error.message)
            else:
                form = TokenCreateForm()  # an empty form for the next one
        if form.errors:
            status = 400
    context = _panel_context(request, form, created, secret)
    if request.htmx and request.htmx.target == "token-panel":
        return render(request, "accounts/token_list.html#token-panel", context, status=status)
    return render(request, "accounts/token_list.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    """GET asks for confirmation; POST revokes. Another person's token is a 404, like a missing one."""
    try:
        token = selectors.api_token_get_for_user(user=request.user, token_id=token_id)
    except ApplicationError as error:
        raise Http404("No such token.") from error
    if request.method == "GET":
        return render(request, "accounts/confirm.html", {
            "title": f"Revoke the token {token.name or token.prefix + '…'}?",
            "message": "Programs that use it stop working at once. This cannot be undone.",
            "button": "Revoke", "danger": True, "cancel_url": reverse("token-list"),
        })
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token {token.name or token.prefix + '…'} revoked.")
    return redirect("token-list")
