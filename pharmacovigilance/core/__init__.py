"""Framework-free pharmacovigilance core: imports no Django (a test imports it with Django absent)."""
