"""The ``charter`` command line (Typer). Exit status: 0 success, 2 a user mistake, 1 an internal failure."""

from charter.cli._app import app


def main() -> None:
    """Entry point of the ``charter`` script."""
    app()


__all__ = ["app", "main"]
