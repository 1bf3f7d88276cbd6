"""What `OPTIONS` answers on every API endpoint."""

from __future__ import annotations

from rest_framework.metadata import BaseMetadata


class EndpointMetadata(BaseMetadata):
    """The endpoint's name, description, methods and media types, without DRF's serializer introspection:
    DRF's SimpleMetadata builds each method's serializer, which our one-serializer-per-operation views do
    not declare (a 500 on OPTIONS). Request and response bodies are in the OpenAPI schema (/api/schema/)."""

    def determine_metadata(self, request, view) -> dict:
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "allowed_methods": view.allowed_methods,
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": "/api/schema/",
        }
