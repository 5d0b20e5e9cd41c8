"""HTTP API: the app factory, one router per resource, and the error mapping."""

from __future__ import annotations

from urbanpulse.api.app import create_app

__all__ = ["create_app"]
