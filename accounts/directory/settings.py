"""django-auth-ldap's AUTH_LDAP_* settings from the ADE_REVIEW_LDAP_* variables (read by settings/base.py).

Imports ldap and django_auth_ldap only when ADE_REVIEW_LDAP_URI is set, so that the demo and sites with local
passwords need neither python-ldap nor a directory server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .config import GROUP_TYPES, DirectoryConfig, DirectoryConfigError, directory_config_from_env

BACKEND = "accounts.directory.backend.DirectoryBackend"


def directory_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """Django settings for sign-in through the directory: {} when ADE_REVIEW_LDAP_URI is unset.

    Otherwise AUTH_LDAP_* for django-auth-ldap plus ADE_REVIEW_LDAP (the parsed `DirectoryConfig`, read by
    the backend for the rules django-auth-ldap lacks). Errors: ImproperlyConfigured naming the variable, also
    when the `ldap` extra (django-auth-ldap, python-ldap) is not installed.
    """
    try:
        config = directory_config_from_env(environ)
    except DirectoryConfigError as error:
        raise ImproperlyConfigured(str(error)) from None
    if config is None:
        return {}
    try:
        import ldap
        from django_auth_ldap import config as ldap_config
    except ImportError as error:
        raise ImproperlyConfigured(
            "ADE_REVIEW_LDAP_URI is set but django-auth-ldap is not installed: pip install -e '.[ldap]' "
            f"(needs Debian's libldap2-dev and libsasl2-dev to build python-ldap): {error}"
        ) from None
    return {"ADE_REVIEW_LDAP": config, **_auth_ldap_settings(config, ldap, ldap_config)}


def _auth_ldap_settings(config: DirectoryConfig, ldap, ldap_config) -> dict[str, Any]:
    connection_options: dict[Any, Any] = {
        # Active Directory answers searches at the domain root with referrals that python-ldap would chase
        # anonymously (and fail on); OpenLDAP never needs them.
        ldap.OPT_REFERRALS: 0,
        # A directory that does not answer must not hold a login (and a web worker) for minutes.
        ldap.OPT_NETWORK_TIMEOUT: config.timeout_s,
        ldap.OPT_TIMEOUT: config.timeout_s,
    }
    if config.ca_cert_file:
        connection_options[ldap.OPT_X_TLS_CACERTFILE] = config.ca_cert_file
        connection_options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        connection_options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: builds the TLS context from the options above
    result: dict[str, Any] = {
        "AUTH_LDAP_SERVER_URI": config.uri,
        "AUTH_LDAP_BIND_DN": config.bind_dn,
        "AUTH_LDAP_BIND_PASSWORD": config.bind_password,
        "AUTH_LDAP_START_TLS": config.start_tls,
        "AUTH_LDAP_CONNECTION_OPTIONS": connection_options,
        "AUTH_LDAP_USER_SEARCH": ldap_config.LDAPSearch(config.user_search_base, ldap.SCOPE_SUBTREE,
                                                        config.user_filter),
        "AUTH_LDAP_USER_ATTR_MAP": dict(config.attr_map),
        # The directory is the source of truth at every login: names, e-mail and the group flags below are
        # rewritten each time, so a change in the directory reaches the app at the person's next login.
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        # Group lookups are never cached: a person removed from a group loses its rights at the next login.
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        # Project roles are the app's own (ProjectMembership); Django groups and permissions are not used.
        "AUTH_LDAP_FIND_GROUP_PERMS": False,
        "AUTH_LDAP_MIRROR_GROUPS": False,
    }
    if config.group_search_base:
        type_name, _default_filter = GROUP_TYPES[config.group_type]
        result["AUTH_LDAP_GROUP_SEARCH"] = ldap_config.LDAPSearch(
            config.group_search_base, ldap.SCOPE_SUBTREE, config.group_filter)
        result["AUTH_LDAP_GROUP_TYPE"] = getattr(ldap_config, type_name)()
        # Only the flags whose group is configured follow the directory; the others stay as a site
        # administrator set them. A superuser without staff rights could not open the site's administration,
        # so the superuser group grants staff rights too.
        flags = {"is_staff": [dn for dn in (config.staff_group, config.superuser_group) if dn],
                 "is_superuser": config.superuser_group, "is_active": config.active_group}
        result["AUTH_LDAP_USER_FLAGS_BY_GROUP"] = {field: dns for field, dns in flags.items() if dns}
    return result
