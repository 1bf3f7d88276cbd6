"""Case exports: the selected cases of a project as FHIR R4 Bundles (zipped) or one ICH E2B(R3) batch, written by
a job (`case_export`, pharmacovigilance.job_kinds) with progress, by project admins, audited. The writers are
framework-free (pharmacovigilance.core.export); this package finds the cases, starts the job and offers its doors
(an API endpoint and a small export page)."""
