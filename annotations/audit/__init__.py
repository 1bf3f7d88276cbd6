"""The audit trail, by role: models (the append-only table), services (writing records), selectors
(reading them), structures (what an edit record says changed), csv_export, receivers (logins) and origin
(which door a record came through)."""
