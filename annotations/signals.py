"""Signals other apps listen to, so that annotations need not know about them."""

from django.dispatch import Signal

# Sent after notes are committed by an import; kwargs: project, note_ids, patient_ids.
notes_imported = Signal()

# Sent after a transaction commits that changed what a note's gold is (a submission, a sign-off, a set
# marked gold); kwargs: project_id, note_ids. The active-learning loop counts new gold on it.
gold_changed = Signal()
