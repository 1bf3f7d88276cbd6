"""The directory's configuration, read from ADE_REVIEW_LDAP_* variables, and its group -> project role rule.

Framework-free (no Django, no ldap): settings import it while the app registry is not ready, and a site
without the `ldap` extra imports it too (it only learns that the directory is off).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# annotations.models.ProjectRole's values, strongest first (a test keeps the two in step): a person in two
# mapped groups of one project gets the stronger role.
ROLES_BY_RANK = ("admin", "reviewer", "annotator")

# ADE_REVIEW_LDAP_GROUP_TYPE -> (django_auth_ldap.config class, default group search filter).
GROUP_TYPES = {
    "groupofnames": ("GroupOfNamesType", "(objectClass=groupOfNames)"),
    "nestedgroupofnames": ("NestedGroupOfNamesType", "(objectClass=groupOfNames)"),
    "groupofuniquenames": ("GroupOfUniqueNamesType", "(objectClass=groupOfUniqueNames)"),
    "activedirectory": ("ActiveDirectoryGroupType", "(objectClass=group)"),
    "nestedactivedirectory": ("NestedActiveDirectoryGroupType", "(objectClass=group)"),
    "posixgroup": ("PosixGroupType", "(objectClass=posixGroup)"),
}
# Only these user fields may come from directory attributes: flags (staff, superuser, active) come from
# groups, never from an attribute a directory user might be able to edit.
ATTR_MAP_FIELDS = ("first_name", "last_name", "email")
DEFAULT_ATTR_MAP = (("first_name", "givenName"), ("last_name", "sn"), ("email", "mail"))
DEFAULT_USER_FILTER = "(uid=%(user)s)"
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,80}")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


class DirectoryConfigError(ValueError):
    """A directory setting is wrong; the message names the variable and says what it should be."""


@dataclass(frozen=True)
class DirectoryConfig:
    """Everything the app needs to sign people in through the directory.

    `project_roles`: (normalised group DN, project slug, role) triples; `attr_map`: (user field, attribute).
    Group DNs are normalised with `dn_normalise` so they compare equal to what the server returns.
    """

    uri: str
    user_search_base: str
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)  # never in a repr (debug pages, logs)
    user_filter: str = DEFAULT_USER_FILTER
    group_search_base: str = ""
    group_type: str = "groupofnames"
    group_filter: str = ""
    staff_group: str = ""
    superuser_group: str = ""
    active_group: str = ""
    project_roles: tuple[tuple[str, str, str], ...] = ()
    attr_map: tuple[tuple[str, str], ...] = DEFAULT_ATTR_MAP
    start_tls: bool = False
    ca_cert_file: str = ""
    timeout_s: int = 10
    adopt_local_users: bool = False

    @property
    def project_slugs(self) -> tuple[str, ...]:
        return tuple(sorted({slug for _dn, slug, _role in self.project_roles}))


def dn_normalise(dn: str) -> str:
    """A DN in the form django-auth-ldap compares group DNs in: lower case, no spaces around `,` and `=`.

    `CN=PV Reviewers, OU=Groups,DC=example,DC=org` -> `cn=pv reviewers,ou=groups,dc=example,dc=org`;
    escaped commas (`\\,`) stay inside their value.
    """
    rdns = []
    for rdn in _UNESCAPED_COMMA.split(dn.strip().lower()):
        name, sep, value = rdn.partition("=")
        rdns.append(f"{name.strip()}{sep}{value.strip()}")
    return ",".join(rdns)


def _bool(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = environ.get(name)
    if value is None or not value.strip():
        return default
    value = value.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise DirectoryConfigError(f"{name} must be 1/true/yes/on or 0/false/no/off, not {value!r}.")


def _filter(environ: Mapping[str, str], name: str, default: str, *, needs_user: bool) -> str:
    value = (environ.get(name) or "").strip() or default
    if not (value.startswith("(") and value.endswith(")")) or value.count("(") != value.count(")"):
        raise DirectoryConfigError(f"{name} must be an LDAP filter in parentheses, e.g. {default}, not {value!r}.")
    if needs_user and "%(user)s" not in value:
        raise DirectoryConfigError(f"{name} must contain %(user)s where the login name goes, e.g. {default}.")
    return value


def _json(environ: Mapping[str, str], name: str, example: str):
    text = (environ.get(name) or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DirectoryConfigError(f"{name} is not valid JSON ({error.msg} at character {error.pos}); "
                                   f"expected e.g. {example}") from None


PROJECT_ROLES_EXAMPLE = '{"cn=pv-reviewers,ou=groups,dc=example,dc=org": {"team-b": "reviewer"}}'


def project_roles_parse(value, name: str = "ADE_REVIEW_LDAP_PROJECT_ROLES") -> tuple[tuple[str, str, str], ...]:
    """The group -> project role mapping: a JSON object of group DN -> {project slug: role}.

    Returns (normalised group DN, slug, role) triples. Errors: DirectoryConfigError naming the bad entry.
    """
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise DirectoryConfigError(f"{name} must be a JSON object of group DN -> {{project slug: role}}, "
                                   f"e.g. {PROJECT_ROLES_EXAMPLE}")
    triples = []
    for group_dn, projects in value.items():
        if not isinstance(group_dn, str) or "=" not in group_dn:
            raise DirectoryConfigError(f"{name}: {group_dn!r} is not a group DN (cn=...,ou=...,dc=...).")
        if not isinstance(projects, dict) or not projects:
            raise DirectoryConfigError(f"{name}: the value for {group_dn!r} must be a non-empty object of "
                                       "project slug -> role.")
        for slug, role in projects.items():
            if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
                raise DirectoryConfigError(f"{name}: {slug!r} (under {group_dn!r}) is not a project slug.")
            if role not in ROLES_BY_RANK:
                raise DirectoryConfigError(f"{name}: the role for {slug!r} under {group_dn!r} must be one of "
                                           f"{', '.join(ROLES_BY_RANK)}, not {role!r}.")
            triples.append((dn_normalise(group_dn), slug, role))
    return tuple(triples)


def _attr_map(value, name: str = "ADE_REVIEW_LDAP_ATTR_MAP") -> tuple[tuple[str, str], ...]:
    if value is None:
        return DEFAULT_ATTR_MAP
    if not isinstance(value, dict) or not all(isinstance(v, str) and v for v in value.values()):
        raise DirectoryConfigError(f'{name} must be a JSON object of user field -> attribute, e.g. '
                                   '{"first_name": "givenName", "last_name": "sn", "email": "mail"}.')
    unknown = sorted(set(value) - set(ATTR_MAP_FIELDS))
    if unknown:
        raise DirectoryConfigError(f"{name}: only {', '.join(ATTR_MAP_FIELDS)} come from attributes, not "
                                   f"{', '.join(unknown)} (site rights come from groups).")
    return tuple(value.items())


def directory_config_from_env(environ: Mapping[str, str]) -> DirectoryConfig | None:
    """The directory's configuration, or None when ADE_REVIEW_LDAP_URI is unset (local passwords only).

    Errors: DirectoryConfigError with the variable's name, for any value that is missing or malformed.
    """
    uri = (environ.get("ADE_REVIEW_LDAP_URI") or "").strip()
    if not uri:
        return None
    if not uri.startswith(("ldap://", "ldaps://", "ldapi://")):
        raise DirectoryConfigError(f"ADE_REVIEW_LDAP_URI must start with ldap://, ldaps:// or ldapi://, not {uri!r}.")
    user_base = (environ.get("ADE_REVIEW_LDAP_USER_SEARCH_BASE") or "").strip()
    if not user_base:
        raise DirectoryConfigError("ADE_REVIEW_LDAP_USER_SEARCH_BASE is required with ADE_REVIEW_LDAP_URI, "
                                   "e.g. ou=people,dc=example,dc=org.")
    group_type = (environ.get("ADE_REVIEW_LDAP_GROUP_TYPE") or "groupOfNames").strip().lower()
    if group_type not in GROUP_TYPES:
        raise DirectoryConfigError("ADE_REVIEW_LDAP_GROUP_TYPE must be one of groupOfNames, nestedGroupOfNames, "
                                   "groupOfUniqueNames, activeDirectory, nestedActiveDirectory, posixGroup.")
    groups = {key: (environ.get(f"ADE_REVIEW_LDAP_{key.upper()}") or "").strip()
              for key in ("staff_group", "superuser_group", "active_group")}
    project_roles = project_roles_parse(_json(environ, "ADE_REVIEW_LDAP_PROJECT_ROLES", PROJECT_ROLES_EXAMPLE))
    group_base = (environ.get("ADE_REVIEW_LDAP_GROUP_SEARCH_BASE") or "").strip()
    if not group_base and (project_roles or any(groups.values())):
        raise DirectoryConfigError("ADE_REVIEW_LDAP_GROUP_SEARCH_BASE is required when groups are mapped "
                                   "(STAFF_GROUP, SUPERUSER_GROUP, ACTIVE_GROUP or PROJECT_ROLES).")
    timeout = (environ.get("ADE_REVIEW_LDAP_TIMEOUT_S") or "10").strip()
    if not timeout.isdigit() or int(timeout) < 1:
        raise DirectoryConfigError(f"ADE_REVIEW_LDAP_TIMEOUT_S must be a whole number of seconds, not {timeout!r}.")
    return DirectoryConfig(
        uri=uri,
        user_search_base=user_base,
        bind_dn=(environ.get("ADE_REVIEW_LDAP_BIND_DN") or "").strip(),
        bind_password=environ.get("ADE_REVIEW_LDAP_BIND_PASSWORD") or "",
        user_filter=_filter(environ, "ADE_REVIEW_LDAP_USER_FILTER", DEFAULT_USER_FILTER, needs_user=True),
        group_search_base=group_base,
        group_type=group_type,
        group_filter=_filter(environ, "ADE_REVIEW_LDAP_GROUP_FILTER", GROUP_TYPES[group_type][1], needs_user=False),
        staff_group=groups["staff_group"],
        superuser_group=groups["superuser_group"],
        active_group=groups["active_group"],
        project_roles=project_roles,
        attr_map=_attr_map(_json(environ, "ADE_REVIEW_LDAP_ATTR_MAP", '{"email": "mail"}')),
        start_tls=_bool(environ, "ADE_REVIEW_LDAP_START_TLS"),
        ca_cert_file=(environ.get("ADE_REVIEW_LDAP_CA_CERT_FILE") or "").strip(),
        timeout_s=int(timeout),
        adopt_local_users=_bool(environ, "ADE_REVIEW_LDAP_ADOPT_LOCAL_USERS"),
    )


def project_roles_for_groups(
    project_roles: Iterable[tuple[str, str, str]], group_dns: Iterable[str]
) -> dict[str, str | None]:
    """The role a person should have in each mapped project, from the groups they are in now.

    Every project named in the mapping gets an entry: the strongest role among the person's mapped groups,
    or None when none of their groups maps to it (so leaving a group removes or downgrades the membership).
    `group_dns` may come in any case and spacing.
    """
    member_of = {dn_normalise(dn) for dn in group_dns}
    wanted: dict[str, str | None] = {}
    for group_dn, slug, role in project_roles:
        wanted.setdefault(slug, None)
        if group_dn in member_of:
            current = wanted[slug]
            if current is None or ROLES_BY_RANK.index(role) < ROLES_BY_RANK.index(current):
                wanted[slug] = role
    return wanted
