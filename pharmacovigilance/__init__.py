"""Pharmacovigilance: from a confirmed ADE to a coded, assessed and reportable case (issue 18).

`core/` is framework-free (the case report as plain dataclasses, causality scales, disproportionality,
terminology file readers, FHIR and ICH E2B(R3) writers); the Django side (models, services, selectors,
views, API, jobs) translates between the database and those dataclasses."""
