"""The agreement page and CSV: members see the figures, others get 404, names from data are escaped."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from annotations.models import Entity
from tests.annotations.agreement.conftest import build_agreement_project

pytestmark = pytest.mark.django_db
HOSTILE = '"><img src=x onerror=alert(1)>'


@pytest.fixture
def world():
    w = build_agreement_project(n_notes=6)
    # a hostile type name (stored as is by an old import, say): shown as text, never as markup
    Entity.objects.filter(annotation_set__note__project=w.project, type="Dose").update(type=HOSTILE)
    Entity.objects.filter(annotation_set__note__project=w.project, type="ADE").update(type="=cmd|'/C calc'!A0")
    return w


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_members_see_verdict_pair_type_and_confusion_tables(world):
    response = _client(world.users["ann1"]).get(reverse("project-agreement", kwargs={"slug": "agree"}))
    assert response.status_code == 200
    html = response.content.decode()
    for section in ("agreement-verdicts", "agreement-pairs", "agreement-types", "agreement-confusion"):
        assert f'id="{section}"' in html
    assert "<td>ann1</td><td>ann2</td>" in html
    assert reverse("project-agreement-csv", kwargs={"slug": "agree"}) in html


def test_hostile_type_names_are_escaped_on_the_page(world):
    html = _client(world.users["ann2"]).get(reverse("project-agreement", kwargs={"slug": "agree"})).content.decode()
    assert "<img src=x" not in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_csv_quotes_formula_leading_cells(world):
    response = _client(world.users["ann3"]).get(reverse("project-agreement-csv", kwargs={"slug": "agree"}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    types = {r[1] for r in rows if r[:1] == ["entity types"]}
    assert "'=cmd|'/C calc'!A0" in types and HOSTILE in types
    assert not any(cell.startswith("=") for row in rows for cell in row)


@pytest.mark.parametrize("name", ["project-agreement", "project-agreement-csv"])
def test_non_members_get_404_and_anonymous_users_the_login(world, name):
    url = reverse(name, kwargs={"slug": "agree"})
    assert _client(world.users["outsider"]).get(url).status_code == 404
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_dashboard_links_to_the_agreement_page(world):
    html = _client(world.users["ann1"]).get(reverse("project-dashboard", kwargs={"slug": "agree"})).content.decode()
    assert f'href="{reverse("project-agreement", kwargs={"slug": "agree"})}"' in html
