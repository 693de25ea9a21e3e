"""The ASGI web app: a thin shell over the library (nothing in Charter imports it)."""

from charter.web._app import create_app

__all__ = ["create_app"]
