"""The ASGI web app: a thin shell over the library (nothing in Charter imports it)."""

from charter.web._app import create_app
from charter.web._atlassian import PROBE_PATHS, AtlassianServices
from charter.web._security import FormLimiter

__all__ = ["PROBE_PATHS", "AtlassianServices", "FormLimiter", "create_app"]
