"""'Did you mean ...?' suggestions for misspelt keys and values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``'; did you mean "x"?'`` for the closest of ``choices``, or ``''`` when none is close.

    Matching ignores case and the difference between ``-`` and ``_``, the two commonest slips in
    TOML keys.
    """
    options = list(choices)

    def norm(text: str) -> str:
        return text.lower().replace("-", "_")

    by_norm: dict[str, str] = {}
    for option in options:
        by_norm.setdefault(norm(option), option)
    if norm(word) in by_norm:
        return f'; did you mean "{by_norm[norm(word)]}"?'
    close = difflib.get_close_matches(norm(word), list(by_norm), n=1, cutoff=0.75)
    if close:
        return f'; did you mean "{by_norm[close[0]]}"?'
    # A cut-short word ("retention.tenant_data") names the one option it begins.
    starts = [option for key, option in by_norm.items() if len(word) >= 4 and key.startswith(norm(word))]
    return f'; did you mean "{starts[0]}"?' if len(starts) == 1 else ""
