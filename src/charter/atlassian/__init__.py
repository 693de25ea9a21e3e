"""Atlassian request authentication: Forge Invocation Tokens, Connect JWTs and the canonical request.

Every failed check raises the one opaque :class:`AuthError`; its ``reason`` is for the log.
"""

from charter.atlassian._canonical import canonical_query, canonical_request, canonical_uri, query_hash
from charter.atlassian._connect import (
    CONTEXT_QSH,
    ConnectClaims,
    TokenKind,
    connect_token,
    peek_client_key,
    sign_outbound,
    verify_connect_request,
    verify_signed_install,
)
from charter.atlassian._errors import AuthError
from charter.atlassian._forge import FIT_ISSUER, ForgeInvocation, ForgeVerifier, bearer_token
from charter.atlassian._jwt import Token, parse
from charter.atlassian._keys import FORGE_JWKS_URL, INSTALL_KEYS_URL, InstallKeys, JwksCache, KeyPolicy, valid_kid
from charter.atlassian._lifecycle import (
    FORGE_INSTALLED,
    FORGE_UPGRADED,
    ConnectLifecycle,
    ForgeEvent,
    PayloadError,
    connect_lifecycle,
    forge_event,
)

__all__ = [
    "CONTEXT_QSH",
    "FIT_ISSUER",
    "FORGE_INSTALLED",
    "FORGE_JWKS_URL",
    "FORGE_UPGRADED",
    "INSTALL_KEYS_URL",
    "AuthError",
    "ConnectClaims",
    "ConnectLifecycle",
    "ForgeEvent",
    "ForgeInvocation",
    "ForgeVerifier",
    "InstallKeys",
    "JwksCache",
    "KeyPolicy",
    "PayloadError",
    "Token",
    "TokenKind",
    "bearer_token",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "connect_lifecycle",
    "connect_token",
    "forge_event",
    "parse",
    "peek_client_key",
    "query_hash",
    "sign_outbound",
    "valid_kid",
    "verify_connect_request",
    "verify_signed_install",
]
