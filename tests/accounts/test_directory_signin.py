"""Sign-in through the hospital's directory, against a real OpenLDAP server (Debian's slapd) that this module
starts on a free 127.0.0.1 port in a temporary folder and stops at the end.

slapd and python-ldap are required, not optional: `make test` installs both (scripts/services.sh,
scripts/ldap_build_deps.sh), and a missing one fails these tests loudly instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ldap
import ldap.modlist
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.directory.backend import DirectoryBackend
from accounts.directory.settings import BACKEND, directory_settings
from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import Project, ProjectMembership
from tests.processes import process_stop

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

SUFFIX = "dc=example,dc=org"
ROOT_DN, ROOT_PASSWORD = f"cn=admin,{SUFFIX}", "slapd-root-secret"
SERVICE_DN, SERVICE_PASSWORD = f"cn=ade-review,ou=services,{SUFFIX}", "service-secret"
PEOPLE, GROUPS = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
REVIEWERS, ANNOTATORS = f"cn=pv-reviewers,{GROUPS}", f"cn=pv-annotators,{GROUPS}"
PROJECT_ADMINS, STAFF, ACTIVE = f"cn=pv-admins,{GROUPS}", f"cn=ade-staff,{GROUPS}", f"cn=ade-users,{GROUPS}"
PLACEHOLDER = f"cn=nobody,{SUFFIX}"  # groupOfNames needs one member at least
# A locked OpenLDAP account (ppolicy's pwdAccountLockedTime) is left out by the user filter, as sites set it.
USER_FILTER = "(&(uid=%(user)s)(!(pwdAccountLockedTime=*)))"
PASSWORD = "directory-pass-1"

SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload ppolicy
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args

database mdb
maxsize 67108864
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {dir}/data
overlay ppolicy
# As a hospital directory would: passwords are checked by binding, never read; the app's service account
# reads people and groups; nobody else reads anything.
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="{service_dn}" read by self read by * none
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Slapd:
    """A running slapd and the root connection that tests use to change the directory."""

    def __init__(self):
        binary = shutil.which("slapd") or "/usr/sbin/slapd"
        if not os.path.exists(binary):
            pytest.fail("slapd is not installed: apt-get install slapd ldap-utils (scripts/services.sh does it "
                        "for make test); the directory sign-in tests need a real OpenLDAP server.")
        self.dir = Path(tempfile.mkdtemp(prefix="ade-slapd-"))
        (self.dir / "data").mkdir()
        conf = self.dir / "slapd.conf"
        conf.write_text(SLAPD_CONF.format(dir=self.dir, suffix=SUFFIX, root_dn=ROOT_DN, root_password=ROOT_PASSWORD,
                                          service_dn=SERVICE_DN))
        self.port = _free_port()
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.log = open(self.dir / "slapd.log", "wb")  # closed in stop()
        # -d 0: stay in the foreground (a child of this process, no daemon to find later), log only errors.
        self.process = subprocess.Popen([binary, "-d", "0", "-h", f"{self.uri}/", "-f", str(conf)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self.conn = self._connect()
            self._load()
        except BaseException:
            self.stop()
            raise

    def _connect(self):
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None:
                self.log.flush()
                pytest.fail(f"slapd exited with {self.process.returncode}:\n{(self.dir / 'slapd.log').read_text()}")
            try:
                conn = ldap.initialize(self.uri)
                conn.simple_bind_s(ROOT_DN, ROOT_PASSWORD)
                return conn
            except ldap.SERVER_DOWN:
                if time.monotonic() > deadline:
                    pytest.fail("slapd did not answer within 20 s")
                time.sleep(0.1)

    def add(self, dn: str, **attrs) -> None:
        entry = {name: [v.encode() for v in (values if isinstance(values, list) else [values])]
                 for name, values in attrs.items()}
        self.conn.add_s(dn, ldap.modlist.addModlist(entry))

    def _load(self) -> None:
        self.add(SUFFIX, objectClass=["dcObject", "organization"], o="Example Hospital", dc="example")
        for ou in ("people", "groups", "services"):
            self.add(f"ou={ou},{SUFFIX}", objectClass="organizationalUnit", ou=ou)
        self.add(SERVICE_DN, objectClass=["organizationalRole", "simpleSecurityObject"], cn="ade-review",
                 userPassword=SERVICE_PASSWORD)
        for group in (REVIEWERS, ANNOTATORS, PROJECT_ADMINS, STAFF, ACTIVE):
            self.add(group, objectClass="groupOfNames", cn=group.split(",")[0][3:], member=PLACEHOLDER)

    def person(self, uid: str, *, groups=(), given="Ada", surname="Lovelace") -> str:
        dn = f"uid={uid},{PEOPLE}"
        self.add(dn, objectClass="inetOrgPerson", uid=uid, cn=f"{given} {surname}", givenName=given, sn=surname,
                 mail=f"{uid}@hospital.example.org", userPassword=PASSWORD)
        for group in groups:
            self.join(dn, group)
        return dn

    def join(self, dn: str, group: str) -> None:
        self.conn.modify_s(group, [(ldap.MOD_ADD, "member", [dn.encode()])])

    def leave(self, dn: str, group: str) -> None:
        self.conn.modify_s(group, [(ldap.MOD_DELETE, "member", [dn.encode()])])

    def lock(self, dn: str) -> None:
        """Disable the account the OpenLDAP way: ppolicy's 'locked until an administrator unlocks it'."""
        self.conn.modify_s(dn, [(ldap.MOD_ADD, "pwdAccountLockedTime", [b"000001010000Z"])])

    def remove(self, dn: str) -> None:
        for group in (REVIEWERS, ANNOTATORS, PROJECT_ADMINS, STAFF, ACTIVE):
            try:
                self.leave(dn, group)
            except ldap.NO_SUCH_ATTRIBUTE:
                pass
        try:
            self.conn.delete_s(dn)
        except ldap.NO_SUCH_OBJECT:
            pass

    def stop(self) -> None:
        process_stop(self.process, timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def slapd():
    server = Slapd()
    yield server
    server.stop()


@pytest.fixture
def people(slapd):
    """Adds people to the directory for one test and removes them after it (the server is shared)."""
    added = []

    def add(uid, **kwargs):
        added.append(slapd.person(uid, **kwargs))
        return added[-1]

    yield add
    for dn in added:
        slapd.remove(dn)


def _environment(slapd, **overrides) -> dict[str, str]:
    env = {
        "ADE_REVIEW_LDAP_URI": slapd.uri,
        "ADE_REVIEW_LDAP_BIND_DN": SERVICE_DN,
        "ADE_REVIEW_LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "ADE_REVIEW_LDAP_USER_SEARCH_BASE": PEOPLE,
        "ADE_REVIEW_LDAP_USER_FILTER": USER_FILTER,
        "ADE_REVIEW_LDAP_GROUP_SEARCH_BASE": GROUPS,
        "ADE_REVIEW_LDAP_STAFF_GROUP": STAFF,
        # Written as an administrator might type it: upper case, spaces after commas.
        "ADE_REVIEW_LDAP_PROJECT_ROLES": (
            '{"CN=PV-Reviewers, OU=Groups, DC=example, DC=org": {"team-b": "reviewer"},'
            f' "{ANNOTATORS}": {{"team-b": "annotator"}}, "{PROJECT_ADMINS}": {{"team-b": "admin"}}}}'),
    }
    return {**env, **overrides}


@pytest.fixture
def directory(settings, slapd):
    """Sign-in through the test directory, configured as settings/base.py does from the environment;
    call it with ADE_REVIEW_LDAP_* overrides to change the configuration."""

    def configure(**overrides):
        for name, value in directory_settings(_environment(slapd, **overrides)).items():
            setattr(settings, name, value)
        settings.AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", BACKEND,
                                            "django.contrib.auth.backends.ModelBackend"]
        return settings

    configure()
    return configure


@pytest.fixture
def team_b(db):
    return Project.objects.create(slug="team-b", name="Team B pharmacovigilance")


def sign_in(username, password):
    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="10.1.2.3")
    return authenticate(request, username=username, password=password)


def login_page(username, password, client=None):
    return (client or Client()).post(reverse("login"), {"username": username, "password": password},
                                     REMOTE_ADDR="10.1.2.3")


def role(project, user):
    return ProjectMembership.objects.filter(project=project, user=user).values_list("role", flat=True).first()


def test_directory_user_signs_in_on_the_login_page_with_names_and_email_from_the_directory(directory, people):
    people("ada", given="Ada", surname="Lovelace")
    response = login_page("ada", PASSWORD)
    assert response.status_code == 302 and response.url == reverse("project-list")
    user = get_user_model().objects.get(username="ada")
    assert (user.first_name, user.last_name, user.email) == ("Ada", "Lovelace", "ada@hospital.example.org")
    assert not user.has_usable_password()  # no local password to fall back on
    assert not user.is_staff
    created = AuditEvent.objects.get(action=AuditAction.USER_CHANGE, object_id=str(user.pk))
    assert created.details["operation"] == "directory_create"


def test_directory_user_gets_an_api_token_with_their_directory_password(directory, people):
    people("ben")
    response = APIClient().post("/api/auth/token/", {"username": "ben", "password": PASSWORD}, format="json",
                                REMOTE_ADDR="10.1.2.3")
    assert response.status_code in (200, 201), response.content
    assert response.json()["token"]


def test_directory_user_is_placed_in_the_project_role_mapped_from_their_group(directory, people, team_b):
    people("cleo", groups=[REVIEWERS])
    user = sign_in("cleo", PASSWORD)
    assert user is not None and role(team_b, user) == "reviewer"
    audit = AuditEvent.objects.get(action=AuditAction.MEMBER_CHANGE, project=team_b)
    assert audit.details == {"change": "added", "user": "cleo", "from": None, "to": "reviewer", "reason": "directory"}
    assert sign_in("cleo", PASSWORD) == user  # nothing changes the second time
    assert AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE).count() == 1


def test_person_in_two_mapped_groups_gets_the_stronger_role(directory, people, team_b):
    people("dana", groups=[ANNOTATORS, REVIEWERS])
    assert role(team_b, sign_in("dana", PASSWORD)) == "reviewer"


def test_staff_group_makes_a_site_administrator_and_leaving_it_takes_that_away(directory, people, slapd):
    dn = people("eve", groups=[STAFF])
    user = sign_in("eve", PASSWORD)
    assert user.is_staff and not user.is_superuser
    slapd.leave(dn, STAFF)
    user = sign_in("eve", PASSWORD)
    assert not user.is_staff
    change = AuditEvent.objects.filter(action=AuditAction.USER_CHANGE, object_id=str(user.pk)).latest("id")
    assert change.details == {"operation": "directory_update", "username": "eve", "is_staff": False}


def test_superuser_group_grants_superuser_and_staff(directory, people, slapd):
    directory(ADE_REVIEW_LDAP_SUPERUSER_GROUP=PROJECT_ADMINS)
    people("fay", groups=[PROJECT_ADMINS])
    user = sign_in("fay", PASSWORD)
    assert user.is_superuser and user.is_staff


def test_wrong_directory_password_is_refused(directory, people):
    people("gus")
    assert sign_in("gus", "not-the-password") is None
    response = login_page("gus", "not-the-password")
    assert response.status_code == 200  # the form again, with its error
    assert not get_user_model().objects.filter(username="gus").exists()
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILURE, actor_username="gus").exists()


def test_disabled_directory_account_can_no_longer_sign_in_also_after_signing_in_before(
        directory, people, slapd, team_b):
    dn = people("hal", groups=[REVIEWERS])
    assert sign_in("hal", PASSWORD) is not None
    assert login_page("hal", PASSWORD).status_code == 302
    slapd.lock(dn)
    # The directory still accepts the password (no default ppolicy here): the app's user filter refuses.
    ldap.initialize(slapd.uri).simple_bind_s(dn, PASSWORD)
    assert sign_in("hal", PASSWORD) is None
    response = login_page("hal", PASSWORD)
    assert response.status_code == 200 and "_auth_user_id" not in response.client.session
    # The Django account stays (its work is attributed to it) but has no local password to try instead.
    user = get_user_model().objects.get(username="hal")
    assert not user.has_usable_password()
    assert authenticate(RequestFactory().post("/"), username="hal", password="") is None


def test_person_deleted_from_the_directory_cannot_sign_in(directory, people, slapd):
    dn = people("ivy")
    assert sign_in("ivy", PASSWORD) is not None
    slapd.remove(dn)
    assert sign_in("ivy", PASSWORD) is None


def test_person_removed_from_the_mapped_group_loses_the_mapped_membership_at_next_login(
        directory, people, slapd, team_b):
    dn = people("jon", groups=[REVIEWERS])
    user = sign_in("jon", PASSWORD)
    assert role(team_b, user) == "reviewer"
    slapd.leave(dn, REVIEWERS)
    slapd.join(dn, ANNOTATORS)
    assert role(team_b, sign_in("jon", PASSWORD)) == "annotator"  # moved to a weaker group: downgraded
    slapd.leave(dn, ANNOTATORS)
    assert sign_in("jon", PASSWORD) == user  # still signs in: only the mapped membership goes
    assert role(team_b, user) is None
    changes = [e.details["change"] for e in AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE,
                                                                      project=team_b).order_by("id")]
    assert changes == ["added", "role", "removed"]


def test_projects_the_mapping_does_not_name_are_left_to_their_admins(directory, people):
    other = Project.objects.create(slug="other", name="Other team")
    people("kim", groups=[REVIEWERS])
    user = sign_in("kim", PASSWORD)
    ProjectMembership.objects.create(project=other, user=user, role="annotator")
    sign_in("kim", PASSWORD)
    assert role(other, user) == "annotator"


def test_directory_never_removes_a_projects_last_admin_and_audits_the_refusal(directory, people, slapd, team_b):
    dn = people("lea", groups=[PROJECT_ADMINS])
    user = sign_in("lea", PASSWORD)
    assert role(team_b, user) == "admin"
    slapd.leave(dn, PROJECT_ADMINS)
    assert sign_in("lea", PASSWORD) == user
    assert role(team_b, user) == "admin"
    refused = AuditEvent.objects.filter(action=AuditAction.MEMBER_CHANGE, project=team_b).latest("id")
    assert refused.details["change"] == "refused" and refused.details["code"] == "last_admin"


def test_leaving_the_active_group_deactivates_the_account_and_ends_its_sessions(directory, people, slapd):
    directory(ADE_REVIEW_LDAP_ACTIVE_GROUP=ACTIVE)
    dn = people("max", groups=[ACTIVE])
    browser = Client()
    assert login_page("max", PASSWORD, browser).status_code == 302
    assert browser.get(reverse("project-list")).status_code == 200
    slapd.leave(dn, ACTIVE)
    assert sign_in("max", PASSWORD) is None
    user = get_user_model().objects.get(username="max")
    assert not user.is_active
    assert browser.get(reverse("project-list")).status_code == 302  # the open session no longer counts
    assert DirectoryBackend().get_user(user.pk) is None  # nor for any other door that loads it by the backend
    change = AuditEvent.objects.filter(action=AuditAction.USER_CHANGE, object_id=str(user.pk)).latest("id")
    assert change.details["is_active"] is False


def test_local_account_with_a_password_is_not_taken_over_by_the_directory(directory, people):
    local = get_user_model().objects.create_user("nia", password="local-password-9")
    people("nia")
    assert sign_in("nia", PASSWORD) is None
    assert sign_in("nia", "local-password-9") == local  # still the local account, by its local password


def test_adopting_local_accounts_moves_them_to_the_directory_for_good(directory, people, slapd):
    directory(ADE_REVIEW_LDAP_ADOPT_LOCAL_USERS="1")
    local = get_user_model().objects.create_user("oli", password="local-password-9")
    dn = people("oli")
    assert sign_in("oli", PASSWORD) == local
    local.refresh_from_db()
    assert not local.has_usable_password() and local.email == "oli@hospital.example.org"
    slapd.lock(dn)
    assert sign_in("oli", "local-password-9") is None  # the old local password is gone with the adoption


def test_local_accounts_outside_the_directory_keep_their_passwords(directory):
    local = get_user_model().objects.create_user("break-glass", password="local-password-9")
    assert sign_in("break-glass", "local-password-9") == local
    assert sign_in("break-glass", "wrong") is None


def test_mapped_project_that_does_not_exist_yet_is_skipped(directory, people):
    people("pia", groups=[REVIEWERS])
    user = sign_in("pia", PASSWORD)
    assert user is not None and not ProjectMembership.objects.filter(user=user).exists()


def test_without_ldap_uri_nothing_ldap_is_loaded_and_local_passwords_work():
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADE_REVIEW_LDAP_")}
    env["DJANGO_SETTINGS_MODULE"] = "ade_review.settings.test"
    script = (
        "import sys, django; django.setup()\n"
        "from django.conf import settings\n"
        "from django.contrib.auth import get_backends\n"
        "get_backends()\n"
        "assert settings.AUTHENTICATION_BACKENDS == ['axes.backends.AxesStandaloneBackend', "
        "'django.contrib.auth.backends.ModelBackend'], settings.AUTHENTICATION_BACKENDS\n"
        "assert not settings.ADE_REVIEW_LDAP_ENABLED and not hasattr(settings, 'AUTH_LDAP_SERVER_URI')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('ldap', '_ldap', 'django_auth_ldap') "
        "or m == 'accounts.directory.backend')\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def test_local_passwords_sign_in_with_the_default_settings(settings):
    assert BACKEND not in settings.AUTHENTICATION_BACKENDS  # the test settings leave the directory off
    local = get_user_model().objects.create_user("quinn", password="local-password-9")
    assert sign_in("quinn", "local-password-9") == local


def test_unreachable_directory_refuses_directory_sign_in_and_local_accounts_still_work(directory, people):
    people("rex")
    directory(ADE_REVIEW_LDAP_URI=f"ldap://127.0.0.1:{_free_port()}", ADE_REVIEW_LDAP_TIMEOUT_S="2")
    local = get_user_model().objects.create_user("break-glass", password="local-password-9")
    started = time.monotonic()
    assert sign_in("rex", PASSWORD) is None
    assert time.monotonic() - started < 10
    assert sign_in("break-glass", "local-password-9") == local
