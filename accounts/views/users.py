"""Site administration of users, for Django staff (`is_staff`): list, create, change, deactivate and
reactivate, reset a password. Each page validates its input and calls one service or selector."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from annotations.errors import ApplicationError

from .. import selectors, services
from ..forms import UserCreateForm, UserEditForm

PAGE_SIZE = 50
STATUS_FILTERS = {"active": True, "inactive": False, "all": None}
STAFF_FILTERS = {"yes": True, "no": False, "": None}


def staff_required(view):
    """Signed in (else the login page) and staff (else 403): the one check of every page here."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only site administrators (staff) may manage users.")
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def _user_or_404(user_id: int):
    try:
        return selectors.user_get(user_id=user_id)
    except ApplicationError as error:
        raise Http404("No such user.") from error


@staff_required
def user_list(request: HttpRequest) -> HttpResponse:
    """Users by username, searchable and filtered; the HTMX filter form swaps only the results."""
    status = request.GET.get("status", "all")
    staff = request.GET.get("staff", "")
    filters = {"q": request.GET.get("q", "")[:150], "status": status if status in STATUS_FILTERS else "all",
               "staff": staff if staff in STAFF_FILTERS else ""}
    users = selectors.user_list(search=filters["q"], active=STATUS_FILTERS[filters["status"]],
                                staff=STAFF_FILTERS[filters["staff"]])
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "filters": filters, "query": query.urlencode()}
    if request.htmx and request.htmx.target == "user-results":
        return render(request, "accounts/user_list.html#user-results", context)
    return render(request, "accounts/user_list.html", context)


@sensitive_post_parameters("password")
@staff_required
@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    """Create a user; a generated password is shown on the response to this POST and nowhere else."""
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user, generated = services.user_create(
                actor=request.user, username=d["username"], first_name=d["first_name"], last_name=d["last_name"],
                email=d["email"], is_staff=d["is_staff"], password=form.initial_password(),
                must_change_password=d["must_change_password"],
            )
        except ApplicationError as error:
            form.add_error("password" if error.code == "invalid_password" else
                           "email" if error.code == "invalid_email" else "username", error.message)
        else:
            if generated is None:
                messages.success(request, f"User {user.username} created.")
                return redirect("user-detail", user_id=user.pk)
            return render(request, "accounts/user_password.html",
                          {"subject": user, "password": generated, "created": True})
    return render(request, "accounts/user_new.html", {"form": form}, status=400 if form.errors else 200)


@staff_required
@require_http_methods(["GET", "POST"])
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    """A user's account and its settings (names, e-mail, staff, must change password)."""
    subject = _user_or_404(user_id)
    initial = {f: getattr(subject, f) for f in ("first_name", "last_name", "email", "is_staff",
                                                "must_change_password")}
    form = UserEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {f: v for f, v in form.cleaned_data.items() if v != initial[f]}
        try:
            services.user_update(actor=request.user, user=subject, **changes)
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Saved." if changes else "Nothing to change.")
            return redirect("user-detail", user_id=subject.pk)
    return render(request, "accounts/user_detail.html", {"subject": subject, "form": form},
                  status=400 if form.errors else 200)


def _confirm(request, *, title: str, message: str, button: str, subject, danger: bool = True) -> HttpResponse:
    return render(request, "accounts/confirm.html", {"title": title, "message": message, "button": button,
                                                     "subject": subject, "danger": danger,
                                                     "cancel_url": reverse("user-detail", args=[subject.pk])})


@staff_required
@require_http_methods(["GET", "POST"])
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deactivates (sessions end, tokens are revoked, work stays)."""
    subject = _user_or_404(user_id)
    if request.method == "GET":
        return _confirm(request, title=f"Deactivate {subject.username}?", subject=subject, button="Deactivate",
                        message="They can no longer sign in, their sessions end and their API tokens are "
                                "revoked. Their annotations and sign-offs stay, attributed to them.")
    try:
        revoked = services.user_deactivate(actor=request.user, user=subject)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{subject.username} deactivated; {revoked} API token(s) revoked.")
    return redirect("user-detail", user_id=subject.pk)


@staff_required
@require_POST
def user_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    subject = _user_or_404(user_id)
    try:
        services.user_reactivate(actor=request.user, user=subject)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{subject.username} can sign in again.")
    return redirect("user-detail", user_id=subject.pk)


@staff_required
@require_http_methods(["GET", "POST"])
def user_password_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """GET asks for confirmation; POST sets a temporary password, shown on this response only."""
    subject = _user_or_404(user_id)
    if request.method == "GET":
        return _confirm(request, title=f"Reset the password of {subject.username}?", subject=subject,
                        button="Reset the password",
                        message="A new temporary password replaces theirs and is shown to you once; their "
                                "sessions end, their API tokens are revoked, and they must choose a new password "
                                "when they next sign in.")
    try:
        password = services.user_password_reset(actor=request.user, user=subject)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("user-detail", user_id=subject.pk)
    return render(request, "accounts/user_password.html", {"subject": subject, "password": password})
