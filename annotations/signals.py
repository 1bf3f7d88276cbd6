"""Signals other apps listen to, so that annotations need not know about them."""

from django.dispatch import Signal

# Sent after notes are committed by an import; kwargs: project, note_ids, patient_ids.
notes_imported = Signal()
