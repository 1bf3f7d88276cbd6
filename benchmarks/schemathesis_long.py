"""A long schemathesis run against the API served by gunicorn: no 5xx, every response as the schema says.

    python benchmarks/schemathesis_long.py [--examples 200] [--database-url postgres://.../ade_review_fuzz]

Creates a scratch PostgreSQL database, seeds a small project (users in every role, notes, annotation sets),
starts gunicorn on 127.0.0.1 (a free port) with the production settings, and runs every operation of
/api/schema/ as a project admin: first with the real project and objects in the path (generated bodies and
queries, the current version filled in so writes reach the rule checks), then with generated paths.
Prints each failure schemathesis finds and writes benchmarks/results/schemathesis_long.json.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import write_result  # noqa: E402
from load import free_port, scratch_database, wait_until_serving  # noqa: E402


def seed() -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from accounts.services import api_token_create
    from annotations.formats.schema import AttributeType, EntityType, RelationType, Schema
    from annotations.models import AnnotationSet, Entity, Note, ProjectMembership
    from annotations.services.corpus_import import project_get_or_create, text_hash
    from annotations.services.schemas import project_schema_set

    project = project_get_or_create(slug="alpha", name="Alpha")
    project_schema_set(project=project, inferred=False, schema=Schema(
        entity_types=(EntityType("Drug"), EntityType("ADE")),
        relation_types=(RelationType("Causes", "Arg1", ("Drug",), "Arg2", ("ADE",)),),
        attribute_types=(AttributeType("Severity", ("ADE",), ("mild", "severe")),),
    ))
    admin = get_user_model().objects.create_user("fuzz-admin", password=secrets.token_urlsafe(16))
    ProjectMembership.objects.create(project=project, user=admin, role="admin")
    text = "Patient on warfarin developed severe epistaxis overnight."
    note = Note.objects.create(project=project, external_id="a1", text=text, text_hash=text_hash(text))
    aset = AnnotationSet.objects.create(note=note, source_kind="user", user=admin, source_name=admin.username,
                                        status="in_progress")
    Entity.objects.create(annotation_set=aset, local_id="T1", type="Drug", fragments=[[11, 19]], start=11, end=19,
                          text="warfarin")
    return {"token": api_token_create(user=admin)[1], "note": note.pk, "annotation_set": aset.pk}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per operation and mode")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_fuzz")
    args = parser.parse_args()

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ade_review.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(60),
        # Production settings require the shared cache (login throttling, API throttles count in it).
        "CACHE_URL": os.environ.get("CACHE_URL") or "redis://127.0.0.1:6379/14",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": args.database_url,
        "LOG_LEVEL": "ERROR",
        "API_THROTTLE_USER": "1000000/min",
    }
    os.environ.update(env)
    scratch_database(args.database_url)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True, env=env,
                   cwd=ROOT)
    world = seed()

    import hypothesis
    import requests
    import schemathesis
    from hypothesis import HealthCheck, Phase
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    from annotations.models import AnnotationSet

    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "ade_review.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--log-level", "warning", "--preload"], env=env, cwd=ROOT,
    )
    headers = {"Authorization": f"Token {world['token']}"}
    real = {"slug": "alpha", "note_id": world["note"], "id": world["annotation_set"], "local_id": "T1",
            "job_id": 1, "export_id": "0" * 32}
    failures: list[str] = []
    calls = 0
    started = time.monotonic()
    try:
        wait_until_serving(port, path="/api/projects/", expect=401)
        session = requests.Session()
        raw = session.get(f"{base_url}/api/schema/?format=json", headers=headers, timeout=30).json()
        schema = schemathesis.openapi.from_dict(raw)
        operations = [r.ok() for r in schema.get_all_operations()]

        def make_check(operation, override):
            @hypothesis.given(case=operation.as_strategy())
            @hypothesis.settings(max_examples=args.examples, deadline=None, database=None,
                                 phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def check(case):
                nonlocal calls
                if override:
                    case.path_parameters = {k: override.get(k, v) for k, v in (case.path_parameters or {}).items()}
                    if "/annotation-sets/{id}/" in operation.path and operation.method.upper() != "GET":
                        current = AnnotationSet.objects.get(pk=world["annotation_set"]).version
                        if isinstance(case.body, dict):
                            case.body["version"] = current
                        if operation.method.upper() == "DELETE":
                            case.query = {**(case.query or {}), "version": current}
                calls += 1
                response = case.call(base_url=base_url, session=session, headers=headers)
                case.validate_response(response, checks=checks, headers=headers)

            return check

        for operation in operations:
            if operation.label == "DELETE /api/auth/token/":
                continue  # it would revoke the run's own token (tests/annotations/api/test_schemathesis.py covers it)
            for override in (real, None):
                check = make_check(operation, override)
                mode = "real ids" if override else "generated ids"
                try:
                    check()
                    print(f"ok    {operation.label} ({mode})", flush=True)
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as exc:  # noqa: BLE001 - failure groups too; every failure reported, run goes on
                    failures.append(f"{operation.label} ({mode}): {str(exc)[:2000]}")
                    print(f"FAIL  {operation.label} ({mode})\n{str(exc)[:2000]}", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    elapsed = time.monotonic() - started
    path = write_result(
        "schemathesis_long",
        {"operations": len(operations), "calls": calls, "failures": len(failures), "examples_per_operation":
         args.examples, "duration_s": round(elapsed, 1)},
        extra={"failed": failures},
    )
    print(json.dumps({"operations": len(operations), "calls": calls, "failures": len(failures)}))
    print(f"wrote {path}")
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
