"""Curation (adjudication, issue 17): reads (selectors); the writes are annotations.services.curation."""
