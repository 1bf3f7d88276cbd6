"""The "nursing phrase states" schema template for new projects: the risk monitor's phrase states (the
nursing-notes study's 7), registered with annotations' template registry when the app loads."""

from __future__ import annotations

from annotations.services.schema_templates import SchemaTemplate, schema_template_register
from inference.core.risk.phrase_labels import state_schema

schema_template_register(SchemaTemplate(
    key="nursing-phrase-states",
    label="Nursing notes: phrase states (ADR risk monitor)",
    description="The nursing-notes study's seven phrase states, for the ADR risk timeline.",
    build=state_schema,
))
