"""Project administration pages at a large site: server time and query count of the project list and the
members page (and their API twins) with 500 projects and 2,000 users (issue 16).

    python benchmarks/team_pages.py [--projects 500] [--users 2000] [--repeats 20] [--database-url URL]

A scratch PostgreSQL database (dropped first) gets N projects with a few notes each and M users; one person
is a member of every project (the project list at its longest: 500 projects, paged by 50) and every user is
a member of one project (the members page at its longest: 2,000 members, paged by 50, with each member's
activity counts). Pages are fetched in-process with Django's test client under production-like settings
(DEBUG off); the time is the server's alone (no network, no browser). Writes benchmarks/results/team_pages.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import log, reset_database, setup_django, write_result  # noqa: E402


def build(n_projects: int, n_users: int):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from annotations.models import AnnotationSet, Note, Project, ProjectMembership, SignOff
    from annotations.services.corpus_import import text_hash

    User = get_user_model()
    password = make_password("bench")
    lead = User.objects.create_user("lead", password="bench", is_staff=True)
    users = User.objects.bulk_create([User(username=f"user{i:05d}", first_name=f"U{i}", password=password)
                                      for i in range(n_users)])
    projects = Project.objects.bulk_create([Project(slug=f"p{i:04d}", name=f"Project {i:04d}")
                                            for i in range(n_projects)])
    ProjectMembership.objects.bulk_create([ProjectMembership(project=p, user=lead, role="admin") for p in projects])
    big = projects[0]
    ProjectMembership.objects.bulk_create([ProjectMembership(project=big, user=u, role="annotator") for u in users])
    notes = []
    for p in projects:
        for j in range(4):
            text = f"note {j} of {p.slug}: warfarin, bleeding."
            notes.append(Note(project=p, external_id=f"n{j}", text=text, text_hash=text_hash(text), flagged=j % 2 == 0))
    notes = Note.objects.bulk_create(notes)
    # Activity in the big project: every user annotated one of its notes, one in ten submitted, a few signed off.
    big_notes = [n for n in notes if n.project_id == big.pk]
    sets = AnnotationSet.objects.bulk_create([
        AnnotationSet(note=big_notes[i % len(big_notes)], source_kind="user", user=u, source_name=u.username,
                      status="submitted" if i % 10 == 0 else "in_progress")
        for i, u in enumerate(users)
    ])
    SignOff.objects.bulk_create([SignOff(note=s.note, annotation_set=s, user=lead, decision="confirm")
                                 for s in sets[:50]])
    return lead, big


def measure(client, url: str, repeats: int) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for i in range(repeats + 2):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - t0) * 1000
        assert response.status_code == 200, (url, response.status_code)
        if i >= 2:  # two warm-up requests (template and URL caches)
            times.append(elapsed)
        queries = max(queries, len(ctx.captured_queries))
    return times, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_team_bench")
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--name", default="team_pages")
    args = parser.parse_args()

    reset_database(args.database_url)
    setup_django(args.database_url, DEBUG="0")
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    lead, big = build(args.projects, args.users)
    log(f"built {args.projects} projects, {args.users} users in {time.perf_counter() - t0:.1f}s")
    client = Client(HTTP_HOST="localhost")
    client.force_login(lead)
    pages = {
        "project_list": "/",
        "project_list_page_5": "/?page=5",
        "members": f"/projects/{big.slug}/members/",
        "members_page_20": f"/projects/{big.slug}/members/?page=20",
        "api_project_list": "/api/projects/",
        "api_members": f"/api/projects/{big.slug}/members/",
        "users": "/accounts/users/",
    }
    metrics: dict[str, float] = {"projects": args.projects, "users": args.users}
    for name, url in pages.items():
        times, queries = measure(client, url, args.repeats)
        metrics[f"{name}_median_ms"] = round(statistics.median(times), 1)
        metrics[f"{name}_p95_ms"] = round(sorted(times)[int(0.95 * (len(times) - 1))], 1)
        metrics[f"{name}_queries"] = queries
        log(f"{name}: median {metrics[f'{name}_median_ms']} ms, p95 {metrics[f'{name}_p95_ms']} ms, {queries} queries")
    write_result(args.name, metrics, extra={"setup": {
        "server": "in-process Django test client, production-like settings (DEBUG off), PostgreSQL on 127.0.0.1",
        "data": "one admin member of every project; every user a member of the first project with activity",
    }})


if __name__ == "__main__":
    main()
