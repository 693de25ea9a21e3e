"""Redaction of support material: a registry of detectors and an engine that replaces what they find.

This is the core for text and logs; structured formats (JSON, HAR, zip) and the ``charter redact`` command
build on it.
"""

from charter.redact._detectors import DETECTORS, Detector, hostname_detector
from charter.redact._engine import Finding, Redactor

__all__ = ["DETECTORS", "Detector", "Finding", "Redactor", "hostname_detector"]
