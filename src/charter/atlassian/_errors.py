"""The one error every failed authentication raises."""

from __future__ import annotations

__all__ = ["AuthError"]


class AuthError(Exception):
    """A request or token failed verification.

    The message shown to the caller is always the same (``unauthorized``), in the manner of
    ``cryptography.fernet.InvalidToken``: the reason would help an attacker. The precise ``reason``
    (``expired``, ``bad-signature``, ``qsh-mismatch``, ...) and ``detail`` go to the log only, and never
    contain the token, a secret or a key.

    Attributes:
        reason: a short machine-readable cause.
        detail: extra context for the log (e.g. the computed canonical request of a qsh mismatch).
    """

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__("unauthorized")
        self.reason = reason
        self.detail = detail
