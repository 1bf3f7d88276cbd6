from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from annotations.errors import ApplicationError
from annotations.formats.document import FormatError
from annotations.management.audited import AuditedCommand
from annotations.models import AnnotationSetStatus, Project, ProjectMembership, ProjectRole
from annotations.services.corpus_import import corpus_import
from annotations.services.members import member_add, member_set_role
from annotations.services.projects import project_create


class Command(AuditedCommand):
    help = ("Import a corpus (directory or .zip) into a project; creates the project (with --admin USER as its "
            "admin) if needed.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument(
            "--admin", metavar="USER",
            help="username made the project's admin; required when the project does not exist yet (a project "
            "without members could be seen by nobody)",
        )
        parser.add_argument("--format", required=True, choices=["brat", "ade", "pubtator", "jsonl", "fhir"])
        parser.add_argument("--schema", type=Path, help="annotation.conf (or a directory holding it)")
        parser.add_argument("--source-name", default="import", help="name of the imported annotation set")
        parser.add_argument(
            "--status", default=AnnotationSetStatus.GOLD, choices=[c for c, _ in AnnotationSetStatus.choices]
        )

    def handle(self, *args, **options):
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file or directory")
        project = self._project(options["project"], options["admin"])
        try:
            report = corpus_import(
                project=project,
                path=path,
                fmt=options["format"],
                schema_path=options["schema"],
                source_name=options["source_name"],
                status=options["status"],
            )
        except FormatError as exc:
            # The corpus as a whole is refused (unsafe archive, too large, bad annotation.conf): nothing imported.
            raise CommandError("nothing imported:\n" + "\n".join(f"  {p}" for p in exc.problems)) from exc
        self.stdout.write(report.summary())

    def _project(self, slug: str, admin_name: str | None) -> Project:
        admin = None
        if admin_name:
            admin = get_user_model().objects.filter(username=admin_name, is_active=True).first()
            if admin is None:
                raise CommandError(f"--admin {admin_name}: no active user of that name (createsuperuser, or the "
                                   "Users page, makes one)")
        project = Project.objects.filter(slug=slug).first()
        try:
            if project is None:
                if admin is None:
                    raise CommandError(f"project {slug!r} does not exist: give --admin USER to create it with that "
                                       "person as its admin")
                # The operator at the command line vouches for the creation (`trusted`): the admin named need
                # not be site staff.
                return project_create(by=admin, name=slug, slug=slug, trusted=True)
            if admin is not None:
                role = ProjectMembership.objects.filter(project=project, user=admin).values_list("role", flat=True).first()
                if role is None:
                    member_add(by=None, project=project, user=admin, role=ProjectRole.ADMIN)
                elif role != ProjectRole.ADMIN:
                    member_set_role(by=None, project=project, user=admin, role=ProjectRole.ADMIN)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        return project
