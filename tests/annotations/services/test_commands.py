"""The management commands as an admin runs them: summaries with file:line, clean refusals, idempotent demo."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from annotations.models import Note, NoteLabel, Project, ProjectMembership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def operator(django_user_model):
    """The person the commands make a new project's admin (`import_corpus --admin`)."""
    return django_user_model.objects.create_user("operator", password="x")


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_import_command_reports_each_skipped_document_with_file_and_line(tmp_path):
    (tmp_path / "a.txt").write_text("Warfarin caused bleeding.\n")
    (tmp_path / "a.ann").write_text("T1\tDrug 0 8\tWarfarin\n")
    (tmp_path / "b.txt").write_text("Aspirin.\n")
    (tmp_path / "b.ann").write_text("T1\tDrug 0 7\tAspirin\nT2\tDrug 3 99\tx\n")
    output = run("import_corpus", str(tmp_path), "--project", "new-project", "--format", "brat",
                 "--admin", "operator")
    assert "imported 1 notes" in output
    assert "b.ann:2" in output
    project = Project.objects.get(slug="new-project")
    assert ProjectMembership.objects.get(project=project).user.username == "operator"
    assert ProjectMembership.objects.get(project=project).role == "admin"


def test_import_command_refuses_to_create_a_project_nobody_could_see(tmp_path):
    (tmp_path / "a.txt").write_text("Warfarin caused bleeding.\n")
    with pytest.raises(CommandError, match="--admin USER"):
        run("import_corpus", str(tmp_path), "--project", "orphan", "--format", "brat")
    assert not Project.objects.filter(slug="orphan").exists()


def test_import_command_refuses_an_unsafe_zip_and_imports_nothing(tmp_path):
    archive = tmp_path / "c.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.txt", "x")
        zf.writestr("../../etc/passwd", "x")
    with pytest.raises(CommandError, match="nothing imported"):
        run("import_corpus", str(archive), "--project", "p", "--format", "brat", "--admin", "operator")
    assert Note.objects.count() == 0


def test_export_command_writes_a_zip(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("Warfarin caused bleeding.\n")
    (tmp_path / "in" / "a.ann").write_text("T1\tDrug 0 8\tWarfarin\n")
    run("import_corpus", str(tmp_path / "in"), "--project", "p", "--format", "brat", "--admin", "operator")
    output = run("export_corpus", "--project", "p", "--format", "brat", "--out", str(tmp_path / "out.zip"))
    assert "exported 1 notes" in output
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        names = zf.namelist()
    assert any(n.endswith("a.ann") for n in names) and any(n.endswith("a.txt") for n in names)


def test_seed_demo_is_idempotent_and_gives_every_role_a_membership():
    run("seed_demo")
    run("seed_demo")
    project = Project.objects.get(slug="demo")
    assert Note.objects.filter(project=project).count() == 40
    # 28 gold notes to train a first model on, 12 bare ones for it to pre-annotate
    assert Note.objects.filter(project=project, annotation_sets__status="gold").distinct().count() == 28
    assert all(n.metadata.get("synthetic") for n in Note.objects.filter(project=project))
    assert set(ProjectMembership.objects.filter(project=project).values_list("role", flat=True)) == {
        "admin", "reviewer", "annotator"}
    assert set(NoteLabel.objects.values_list("value", flat=True)) == {"ade", "no_ade"}


def test_register_model_makes_a_trained_directory_the_active_version(tmp_path):
    import json

    from inference.models import ModelVersion

    run("import_corpus", str(_tiny_corpus(tmp_path)), "--project", "p", "--format", "brat", "--admin", "operator")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "pipeline.json").write_text(json.dumps({"encoder": "tiny", "components": {}}))
    output = run("register_model", str(tmp_path / "model"), "--project", "p", "--name", "v1", "--activate")
    assert "registered v1" in output
    assert ModelVersion.objects.get(project__slug="p", is_active=True).name == "v1"
    with pytest.raises(CommandError, match="no pipeline.json"):
        run("register_model", str(tmp_path), "--project", "p", "--name", "v2")


def _tiny_corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Warfarin caused bleeding.\n")
    (folder / "a.ann").write_text("T1\tDrug 0 8\tWarfarin\n")
    return folder
