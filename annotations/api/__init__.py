"""The REST API: thin DRF endpoints over the annotation services and selectors."""
