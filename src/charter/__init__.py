"""Charter: a Data Security & Privacy Statement whose every promise is an enforced, tested control.

The flow: ``charter.toml -> policy -> controls -> evidence -> statement / web``. See
``docs/architecture.md``.
"""

from charter.__about__ import __version__

__all__ = ["__version__"]
