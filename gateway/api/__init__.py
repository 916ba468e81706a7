"""The HTTP API (BRIEF §9): pushes from the cities, the case feed, OAuth2, operations."""

from gateway.api.app import create_app

__all__ = ["create_app"]
