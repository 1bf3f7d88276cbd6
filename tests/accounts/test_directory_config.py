"""Reading the directory's configuration from ADE_REVIEW_LDAP_* (no server, no database): what is accepted,
what is refused with the variable's name, and the group -> project role rule."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.directory.config import (
    ROLES_BY_RANK,
    DirectoryConfigError,
    directory_config_from_env,
    dn_normalise,
    project_roles_for_groups,
    project_roles_parse,
)
from accounts.directory.settings import directory_settings
from annotations.models import ProjectRole

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = {"ADE_REVIEW_LDAP_URI": "ldap://ldap.hospital.example:389",
           "ADE_REVIEW_LDAP_USER_SEARCH_BASE": "ou=people,dc=hospital,dc=example"}
REVIEWERS = "cn=pv-reviewers,ou=groups,dc=hospital,dc=example"
ANNOTATORS = "cn=pv-annotators,ou=groups,dc=hospital,dc=example"


def test_directory_is_off_without_a_uri():
    assert directory_config_from_env({}) is None
    assert directory_settings({"ADE_REVIEW_LDAP_USER_SEARCH_BASE": "ou=people,dc=x"}) == {}


def test_roles_follow_the_project_roles_the_app_knows():
    assert set(ROLES_BY_RANK) == set(ProjectRole.values)


def test_minimal_configuration_uses_uid_and_the_usual_attributes():
    config = directory_config_from_env(MINIMAL)
    assert config.user_filter == "(uid=%(user)s)"
    assert dict(config.attr_map) == {"first_name": "givenName", "last_name": "sn", "email": "mail"}
    assert not config.start_tls and not config.adopt_local_users and config.project_roles == ()


def test_bind_password_stays_out_of_the_configs_repr():
    config = directory_config_from_env({**MINIMAL, "ADE_REVIEW_LDAP_BIND_PASSWORD": "s3cret-bind"})
    assert config.bind_password == "s3cret-bind" and "s3cret-bind" not in repr(config)


def test_active_directory_configuration_builds_ad_group_search_and_flags():
    env = {
        "ADE_REVIEW_LDAP_URI": "ldaps://dc1.hospital.example",
        "ADE_REVIEW_LDAP_USER_SEARCH_BASE": "ou=Staff,dc=hospital,dc=example",
        "ADE_REVIEW_LDAP_USER_FILTER":
            "(&(sAMAccountName=%(user)s)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
        "ADE_REVIEW_LDAP_GROUP_SEARCH_BASE": "ou=Groups,dc=hospital,dc=example",
        "ADE_REVIEW_LDAP_GROUP_TYPE": "nestedActiveDirectory",
        "ADE_REVIEW_LDAP_STAFF_GROUP": "CN=ADE Staff,OU=Groups,DC=hospital,DC=example",
        "ADE_REVIEW_LDAP_START_TLS": "0",
        "ADE_REVIEW_LDAP_CA_CERT_FILE": "/etc/ssl/certs/hospital-ca.pem",
    }
    result = directory_settings(env)
    import ldap  # the `ldap` extra: installed by make install-dev

    assert type(result["AUTH_LDAP_GROUP_TYPE"]).__name__ == "NestedActiveDirectoryGroupType"
    assert result["AUTH_LDAP_GROUP_SEARCH"].filterstr == "(objectClass=group)"
    assert "userAccountControl" in result["AUTH_LDAP_USER_SEARCH"].filterstr
    assert result["AUTH_LDAP_USER_FLAGS_BY_GROUP"] == {"is_staff": [env["ADE_REVIEW_LDAP_STAFF_GROUP"]]}
    options = result["AUTH_LDAP_CONNECTION_OPTIONS"]
    assert options[ldap.OPT_REFERRALS] == 0 and options[ldap.OPT_X_TLS_REQUIRE_CERT] == ldap.OPT_X_TLS_DEMAND
    assert list(options)[-1] == ldap.OPT_X_TLS_NEWCTX  # the TLS context is built after its options
    assert result["AUTH_LDAP_ALWAYS_UPDATE_USER"] is True and result["AUTH_LDAP_CACHE_TIMEOUT"] == 0


@pytest.mark.parametrize(("overrides", "names"), [
    ({"ADE_REVIEW_LDAP_USER_SEARCH_BASE": ""}, "ADE_REVIEW_LDAP_USER_SEARCH_BASE"),
    ({"ADE_REVIEW_LDAP_URI": "ldap.hospital.example"}, "ADE_REVIEW_LDAP_URI"),
    ({"ADE_REVIEW_LDAP_USER_FILTER": "(uid=someone)"}, "%(user)s"),
    ({"ADE_REVIEW_LDAP_USER_FILTER": "uid=%(user)s"}, "ADE_REVIEW_LDAP_USER_FILTER"),
    ({"ADE_REVIEW_LDAP_GROUP_TYPE": "novell"}, "ADE_REVIEW_LDAP_GROUP_TYPE"),
    ({"ADE_REVIEW_LDAP_STAFF_GROUP": "cn=staff,dc=x"}, "ADE_REVIEW_LDAP_GROUP_SEARCH_BASE"),
    ({"ADE_REVIEW_LDAP_START_TLS": "maybe"}, "ADE_REVIEW_LDAP_START_TLS"),
    ({"ADE_REVIEW_LDAP_TIMEOUT_S": "0"}, "ADE_REVIEW_LDAP_TIMEOUT_S"),
    ({"ADE_REVIEW_LDAP_ATTR_MAP": '{"is_superuser": "adminFlag"}'}, "site rights come from groups"),
    ({"ADE_REVIEW_LDAP_PROJECT_ROLES": "cn=x=team-b:reviewer", "ADE_REVIEW_LDAP_GROUP_SEARCH_BASE": "dc=x"},
     "not valid JSON"),
])
def test_malformed_settings_are_refused_naming_what_to_fix(overrides, names):
    with pytest.raises(ImproperlyConfigured, match=names.replace("(", r"\(").replace(")", r"\)")):
        directory_settings({**MINIMAL, **overrides})


@pytest.mark.parametrize(("value", "message"), [
    (["cn=x"], "JSON object"),
    ({"not a dn": {"team-b": "reviewer"}}, "not a group DN"),
    ({REVIEWERS: {"team b": "reviewer"}}, "not a project slug"),
    ({REVIEWERS: {"team-b": "owner"}}, "must be one of admin, reviewer, annotator"),
    ({REVIEWERS: {}}, "non-empty object"),
])
def test_project_role_mapping_errors_name_the_entry(value, message):
    with pytest.raises(DirectoryConfigError, match=message):
        project_roles_parse(value)


def test_group_dns_compare_whatever_their_case_and_spacing():
    assert dn_normalise(" CN=PV Reviewers, OU=Groups ,DC=example, DC=org ") == \
        "cn=pv reviewers,ou=groups,dc=example,dc=org"
    assert dn_normalise(r"cn=Smith\, John,ou=people") == r"cn=smith\, john,ou=people"


def test_the_strongest_mapped_role_wins_and_unmapped_projects_get_none():
    mapping = project_roles_parse({REVIEWERS: {"team-b": "reviewer", "team-c": "annotator"},
                                   ANNOTATORS: {"team-b": "annotator"}})
    assert project_roles_for_groups(mapping, [ANNOTATORS.upper(), REVIEWERS]) == \
        {"team-b": "reviewer", "team-c": "annotator"}
    assert project_roles_for_groups(mapping, [ANNOTATORS]) == {"team-b": "annotator", "team-c": None}
    assert project_roles_for_groups(mapping, []) == {"team-b": None, "team-c": None}


def _settings_in_subprocess(env_overrides: dict[str, str], script: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADE_REVIEW_LDAP_")}
    env.update(env_overrides, DJANGO_SETTINGS_MODULE="ade_review.settings.test")
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_with_a_uri_the_directory_backend_sits_after_the_throttle_and_before_local_passwords():
    result = _settings_in_subprocess(MINIMAL, (
        "from django.conf import settings\n"
        "print(settings.AUTHENTICATION_BACKENDS)\n"
        "assert settings.AUTHENTICATION_BACKENDS == ['axes.backends.AxesStandaloneBackend', "
        "'accounts.directory.backend.DirectoryBackend', 'django.contrib.auth.backends.ModelBackend']\n"
        "assert settings.ADE_REVIEW_LDAP_ENABLED and settings.AUTH_LDAP_SERVER_URI.startswith('ldap://')\n"))
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_configuration_core_imports_no_django_and_no_ldap():
    result = subprocess.run([sys.executable, "-c", (
        "import sys\n"
        "for name in ('django', 'ldap', 'django_auth_ldap'): sys.modules[name] = None\n"
        "import accounts.directory.config as c\n"
        "assert c.directory_config_from_env({}) is None\n")], cwd=ROOT, capture_output=True, text=True,
        timeout=60)
    assert result.returncode == 0, result.stderr[-3000:]
