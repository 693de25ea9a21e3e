from __future__ import annotations

from charter.statement import marketplace_answers
from tests.policy.test_load import BASE
from tests.policy.test_rules import ROA
from tests.statement.test_build import charter_of


def test_answers_for_a_vendor_hosted_app() -> None:
    answers = marketplace_answers(charter_of(BASE))
    assert answers["format"] == "charter-marketplace-answers/1"
    forge = answers["apps"][0]
    assert forge["appKey"] == "com.example.issue-notes"
    storage = forge["dataAccessAndStorage"]["dataStorage"]
    assert storage["storesEndUserDataOutsideAtlassian"] is True
    assert storage["dataRetentionPeriod"] == "P30D"
    assert storage["storageLocations"] == ["aws:eu-central-1"]
    assert storage["encryptedAtRest"] is True
    # The Connect shared secret belongs to the Connect app only.
    connect = answers["apps"][1]
    assert "system.tenant.credentials" in connect["dataAccessAndStorage"]["dataAccess"]["dataAccessTypes"]
    assert "system.tenant.credentials" not in forge["dataAccessAndStorage"]["dataAccess"]["dataAccessTypes"]
    security = answers["security"]
    assert security["encryptionInTransit"] == {"minimumTlsVersion": "1.2", "hstsMaxAgeSeconds": 31536000}
    assert security["vulnerabilityFixDeadlines"] == {
        "critical": "P14D",
        "high": "P28D",
        "medium": "P56D",
        "low": "P175D",
    }
    assert answers["logDetails"] == {
        "endUserDataInLogs": False,
        "logsSharedWithThirdParties": False,
        "logRetentionPeriod": "P14D",
    }


def test_answers_for_a_runs_on_atlassian_app() -> None:
    answers = marketplace_answers(charter_of(ROA))
    storage = answers["apps"][0]["dataAccessAndStorage"]["dataStorage"]
    assert storage["storesEndUserDataOutsideAtlassian"] is False
    assert storage["dataRetentionPeriod"] is None
    assert answers["apps"][0]["dataAccessAndStorage"]["dataAccess"]["accessesEndUserData"] is False
