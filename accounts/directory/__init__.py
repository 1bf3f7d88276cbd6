"""Sign-in through the hospital's directory (LDAP / Active Directory), off unless ADE_REVIEW_LDAP_URI is set.

- `config`: reads the ADE_REVIEW_LDAP_* variables into a plain `DirectoryConfig` and maps a person's groups
  to project roles (framework-free, no ldap import);
- `settings`: turns that config into django-auth-ldap's AUTH_LDAP_* settings (imports ldap only when on);
- `backend`: `DirectoryBackend`, django-auth-ldap's backend with the app's rules (who may sign in, audit);
- `roles`: `directory_roles_apply`, the project memberships that follow the person's groups.

Nothing here is imported at all, and python-ldap need not be installed, while the directory is off.
"""
