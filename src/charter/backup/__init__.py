"""Backups: encrypted snapshots, calendar retention, verification, restore and drills measuring RPO and RTO.

``charter backup run | list | verify | restore | prune | drill | recover`` and the daily job of ``charter serve`` are
thin shells over :class:`BackupService`. A snapshot is a consistent copy of the data database (never the key
store), compressed with zstd and sealed with streaming AES-256-GCM under a fresh backup key wrapped by the KEK
ring; retention is :func:`plan_retention` (calendar periods in the charter's zone).
"""

from charter.backup._artifact import ArtifactError, BackupKeyError, Manifest, ManifestError
from charter.backup._catalog import BackupError, PartialBackupError, Snapshot
from charter.backup._destinations import Destination, DestinationError, LocalDestination, S3Destination
from charter.backup._recover import Recovery, recover
from charter.backup._retention import Decision, plan_retention
from charter.backup._service import BackupService, DrillResult, PrunePlan, RestoreResult, VerifyResult

__all__ = [
    "ArtifactError",
    "BackupError",
    "BackupKeyError",
    "BackupService",
    "Decision",
    "Destination",
    "DestinationError",
    "DrillResult",
    "LocalDestination",
    "Manifest",
    "ManifestError",
    "PartialBackupError",
    "PrunePlan",
    "Recovery",
    "RestoreResult",
    "S3Destination",
    "Snapshot",
    "VerifyResult",
    "plan_retention",
    "recover",
]
