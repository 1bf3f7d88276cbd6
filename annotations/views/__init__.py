from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    return render(request, "annotations/project_list.html", {"projects": selectors.project_list_for_user(user=request.user)})
