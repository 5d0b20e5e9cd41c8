"""The ``urbanpulse`` command: one Typer app whose groups are thin edges over the domains."""

from urbanpulse.cli.main import app

__all__ = ["app"]
