"""Project memberships that follow the directory's groups (ADE_REVIEW_LDAP_PROJECT_ROLES).

The rule: for every project the mapping names, the directory decides a directory user's membership at each
login: the strongest role of the mapped groups they are in, and no membership when they are in none (a
person who leaves the group loses the mapped role at their next login; one moved to a weaker group is
downgraded). Projects the mapping does not name are left to the project's admins. The project's own rules
still hold (annotations.services.members: a project keeps one active admin; every change is audited).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from annotations.models import Project
from annotations.services.members import member_roles_apply

from .config import project_roles_for_groups

logger = logging.getLogger(__name__)


def directory_roles_apply(*, user, group_dns: Iterable[str], project_roles: Iterable[tuple[str, str, str]]) -> None:
    """Bring `user`'s memberships of the mapped projects in line with their directory groups.

    Arguments: the signed-in user, the DNs of the directory groups they are in now, the mapping's
    (group DN, project slug, role) triples. Each change goes through `member_roles_apply` (audited as
    member_change, the person signing in as actor). A mapped project that does not exist (yet) is skipped
    with a warning in the log: the mapping may name a project before an admin creates it.
    """
    wanted = project_roles_for_groups(project_roles, group_dns)
    if not wanted:
        return
    projects = {project.slug: project for project in Project.objects.filter(slug__in=wanted)}
    for slug in sorted(set(wanted) - set(projects)):
        logger.warning("ADE_REVIEW_LDAP_PROJECT_ROLES names project %r, which does not exist", slug)
    member_roles_apply(by=user, user=user, roles={projects[slug]: role for slug, role in wanted.items()
                                                  if slug in projects}, reason="directory")
