"""``charter init``: a commented starter charter for a hosting model, valid as written."""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

from jinja2 import Environment, PackageLoader, StrictUndefined

from charter.clock import Clock
from charter.policy._schema import HostingModel

__all__ = ["HOSTING_MODELS", "starter_charter"]

HOSTING_MODELS: tuple[str, ...] = get_args(HostingModel)

_env = Environment(
    loader=PackageLoader("charter.policy", "templates"),
    autoescape=False,  # noqa: S701 - renders TOML, not HTML
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=StrictUndefined,
)


def starter_charter(hosting: str, clock: Clock) -> str:
    """The text of a starter ``charter.toml`` for ``hosting``, dated from ``clock``.

    The statement is effective today and security.txt expires in 180 days, so the starter passes
    ``charter check`` as written.

    Raises:
        ValueError: ``hosting`` is not a hosting model.
    """
    if hosting not in HOSTING_MODELS:
        raise ValueError(f"unknown hosting model '{hosting}'; use one of {', '.join(HOSTING_MODELS)}")
    now = clock.now()
    return _env.get_template("starter.toml.j2").render(
        hosting=hosting,
        vendor_hosted=hosting in ("forge-remote", "connect"),
        today=now.date().isoformat(),
        expires=(now + timedelta(days=180)).strftime("%Y-%m-%dT00:00:00Z"),
    )
