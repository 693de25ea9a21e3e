"""Key rotation without downtime, as ``charter keys rotate`` runs it.

* **KEK**: a new key-encryption key wraps every data key again; data is untouched, and every value stays
  readable throughout because the key ring unwraps with whichever KEK a data key names. With the file
  provider, ``--kek`` makes the new key file; with ``env`` or ``aws-kms``, configure the new KEK (keeping
  the old one in ``CHARTER_KEK_PREVIOUS`` / ``CHARTER_KMS_PREVIOUS_KEY_IDS``) and run ``--rewrap``.
* **Data keys**: every tenant gets a new data-key version that new values use. Values under older versions
  stay readable and are re-encrypted lazily when read, or all at once by ``--re-encrypt``, which then
  retires ("rotates out") the old versions.

Each step is idempotent: an interrupted rotation is finished by running it again. Each completed step is
an audit entry.
"""

from __future__ import annotations

from collections.abc import Callable

from charter.audit import AUDIT_KEY_OWNER
from charter.crypto import KekRing, file_kek_ring, promote_file_kek, rotate_file_kek
from charter.runtime import Runtime, kek_provider
from charter.store import Keyring, RotationTooRecentError

__all__ = ["KeyRotationError", "reencrypt_all", "rotate_data_keys", "rotate_kek"]

Progress = Callable[[int, int], None]


class KeyRotationError(Exception):
    """A rotation that cannot be done as asked; the message says what to do instead."""


def rotate_kek(runtime: Runtime, *, new_file_kek: bool, progress: Progress | None = None) -> str:
    """Re-wrap every data key under the current KEK, first making a new file KEK if ``new_file_kek``.

    Returns:
        A one-line summary.

    Raises:
        KeyRotationError: ``new_file_kek`` with a provider other than ``file``.
    """
    provider = kek_provider(runtime.charter)
    if not new_file_kek:
        count = runtime.keyring.rewrap(progress=progress)
        runtime.audit.record("keys.rewrapped", actor="cli", payload={"kek": runtime.keyring.kek_id, "data_keys": count})
        return f"re-wrapped {count} data key(s) under {runtime.keyring.kek_id}"
    if provider != "file":
        raise KeyRotationError(
            f"--kek makes a new key file, but encryption.at_rest.key_provider is '{provider}': configure the new "
            "key (keep the old one as previous) and run `charter keys rotate --rewrap`"
        )
    keys_dir = runtime.data_dir / "keys"
    old, new = rotate_file_kek(keys_dir)
    known = file_kek_ring(keys_dir)  # the old (still current), the new one and every retired KEK
    ring = KekRing(new, [k for k in known.providers if k.key_id != new.key_id])
    count = Keyring(runtime.key_database, ring, clock=runtime.clock).rewrap(progress=progress)
    retired = promote_file_kek(keys_dir, old)  # running processes, this one included, follow (file_kek_ring)
    runtime.audit.record(
        "keys.kek-rotated", actor="cli", payload={"from": old.key_id, "to": new.key_id, "data_keys": count}
    )
    return f"new key-encryption key {new.key_id}; {count} data key(s) re-wrapped; the old key is kept as {retired.name}"


def _tenants(runtime: Runtime) -> list[str]:
    # Charter's own key owners (the audit key, support cases' keys) derive stable keys: never rotated.
    return [t for t in runtime.keyring.tenants() if t != AUDIT_KEY_OWNER and not t.startswith("charter:")]


def rotate_data_keys(runtime: Runtime, *, progress: Progress | None = None) -> str:
    """Give every tenant a new data-key version (the audit key is left alone: it must stay stable)."""
    tenants = _tenants(runtime)
    for i, tenant_id in enumerate(tenants, 1):
        runtime.keyring.rotate_data_key(tenant_id)
        if progress is not None:
            progress(i, len(tenants))
    runtime.audit.record("keys.data-keys-rotated", actor="cli", payload={"tenants": len(tenants)})
    return f"new data key version for {len(tenants)} tenant(s); older values are re-encrypted when read"


def _reencrypt_and_retire(runtime: Runtime, tenant_id: str, retire: bool) -> tuple[int, int, float | None]:
    """Re-encrypt one tenant's values and retire its old key versions:
    ``(values re-encrypted, versions retired, seconds to wait before retiring is allowed, or None)``."""
    values = runtime.store.reencrypt(tenant_id) + runtime.registry.reencrypt(tenant_id)
    if not retire:
        return values, 0, None
    try:
        return values, len(runtime.keyring.retire_old_versions(tenant_id)), None
    except RotationTooRecentError as exc:
        return values, 0, exc.retry_after


def reencrypt_all(
    runtime: Runtime,
    *,
    progress: Progress | None = None,
    wait: Callable[[float], None] | None = None,
    retire: bool | None = None,
) -> str:
    """Re-encrypt every value under its tenant's newest data key, then retire the older versions.

    A version newer than the key cache's TTL (60 s) cannot be retired yet: another process may still seal
    with an older one. With ``wait`` (called with the seconds to wait, e.g. ``time.sleep``), this waits
    that long, re-encrypts what was written meanwhile and retires; without, it says to run again.

    ``retire`` defaults to "only when the charter keeps no backups": snapshots taken before the
    re-encryption hold values sealed under the old versions, and destroying those versions would make
    every such snapshot unreadable (a restore to before the rotation would lose the data). They stay in
    the key store, wrapped by the KEK, and a purge destroys them with the tenant's other keys.
    """
    backups = runtime.charter.backups
    if retire is None:
        retire = backups is None or not backups.enabled
    tenants = _tenants(runtime)
    values = retired = 0
    postponed: dict[str, float] = {}
    for i, tenant_id in enumerate(tenants, 1):
        done, gone, retry_after = _reencrypt_and_retire(runtime, tenant_id, retire)
        values, retired = values + done, retired + gone
        if retry_after is not None:
            postponed[tenant_id] = retry_after
        if progress is not None:
            progress(i, len(tenants))
    if postponed and wait is not None:
        wait(max(postponed.values()))
        for tenant_id in list(postponed):
            done, gone, retry_after = _reencrypt_and_retire(runtime, tenant_id, retire)
            values, retired = values + done, retired + gone
            if retry_after is None:
                del postponed[tenant_id]
    runtime.audit.record(
        "keys.re-encrypted",
        actor="cli",
        payload={"values": values, "retired_keys": retired, "postponed": len(postponed)},
    )
    if not retire:
        return (
            f"re-encrypted {values} value(s); old data key versions kept (wrapped): the backups may hold values "
            "sealed under them (pass --retire to destroy them anyway; a purge destroys them with the tenant)"
        )
    summary = f"re-encrypted {values} value(s); retired {retired} old data key version(s)"
    if postponed:
        summary += f"; {len(postponed)} tenant(s) rotated too recently: run again in a minute to retire theirs"
    return summary
