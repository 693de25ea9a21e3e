"""The redaction engine on text: the shared cases B10 and B12, the labelled corpus, replacement and merging."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.redact import DETECTORS, Finding, Redactor, hostname_detector
from charter.redact._engine import _merge

B10 = (
    "2024-05-01T10:00:00Z WARN auth failed ip=2001:db8:85a3:0000:0000:8a2e:0370:7334 via=2001:db8::1 "
    "client=203.0.113.45 lib=std::vector ver=5.2.13 bind=::"
)


def _as_r(text: str) -> str:
    return re.sub(r"\[REDACTED:[a-z_]+\]", "<R>", text)


def test_b10_full_and_compressed_ipv6_and_no_false_hits() -> None:
    out, findings = Redactor().redact(B10)
    assert [(f.start, f.end, f.kind) for f in findings] == [(41, 79, "ip"), (84, 95, "ip"), (103, 115, "ip")]
    assert _as_r(out) == (
        "2024-05-01T10:00:00Z WARN auth failed ip=<R> via=<R> client=<R> lib=std::vector ver=5.2.13 bind=::"
    )


def _f(n: int) -> str:
    unit = "INFO heartbeat ok\n"
    return (unit * (n // len(unit) + 1))[:n]


def test_b12_a_very_large_input_with_values_across_the_million_mark() -> None:
    text = _f(999989) + " erin.fake@example.com " + _f(399987) + " 198.51.100.23 " + _f(99986)
    assert len(text) == 1_500_000 and text[999990:1000011] == "erin.fake@example.com"
    expected = text.replace("erin.fake@example.com", "<R>").replace("198.51.100.23", "<R>")
    started = time.perf_counter()
    whole, findings = Redactor().redact(text)
    assert time.perf_counter() - started < 60
    assert _as_r(whole) == expected and len(findings) == 2
    # streamed in small blocks, cut anywhere by the caller: the same result, no value lost at an edge
    pieces = [text[i : i + 65_537] for i in range(0, len(text), 65_537)]
    streamed = "".join(Redactor().redact_stream(pieces, block=100_000))
    assert _as_r(streamed) == expected


def test_pseudonyms_are_consistent_within_a_case_and_differ_between_cases() -> None:
    line = "login for user jdoe01 from 203.0.113.7; login for user jdoe01 from 203.0.113.8"
    first, _ = Redactor(case_key=b"fake-case-key-0001").redact(line)
    again, _ = Redactor(case_key=b"fake-case-key-0001").redact(line)
    other, _ = Redactor(case_key=b"fake-case-key-0002").redact(line)
    names = re.findall(r"username-[0-9a-f]{8}", first)
    ips = re.findall(r"ip-[0-9a-f]{8}", first)
    assert len(names) == 2 and names[0] == names[1]  # the same user, the same token: still debuggable
    assert len(ips) == 2 and ips[0] != ips[1]
    assert first == again and first != other
    assert "jdoe01" not in first and "203.0.113" not in first


def test_overlapping_findings_merge_and_text_outside_is_untouched() -> None:
    merged = _merge([Finding(5, 10, "token", "a"), Finding(8, 20, "password", "b"), Finding(30, 32, "ip", "c")])
    assert merged == [Finding(5, 20, "password", "b"), Finding(30, 32, "ip", "c")]
    line = "curl -u jdoe01:f4kePass https://fake-01:8080/x?token=FAKETOKEN123456 version 9.4.1 at 10:15:30"
    out, _ = Redactor().redact(line)
    assert out == (
        "curl -u [REDACTED:username]:[REDACTED:password] https://[REDACTED:hostname]:8080/x?"
        "token=[REDACTED:token] version 9.4.1 at 10:15:30"
    )


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Authorization: Bearer FAKE-BEARER-0001abcd", "token"),
        ("x-forge-oauth-system: FAKE-SYSTEM-TOKEN-0003", "token"),
        ("Cookie: tenant.session.token=FAKE-SESSION-0002; theme=dark", "cookie"),
        ("Set-Cookie: JSESSIONID=FAKE0123456789ABCDEF; Path=/; HttpOnly", "cookie"),
        ("db.password=Fake-Passw0rd!", "password"),
        ("url=postgres://fakeuser:fakepass@db.example.com:5432/app", "url_credentials"),
        ('{"accountId": "557058:f0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b"}', "account_id"),
        ('{"displayName": "Jane Fakename"}', "person_name"),
        ("card 4111 1111 1111 1111 on file", "card"),
        ("call +44 20 7946 0999 please", "phone"),
        ("token ATATT3xFAKE0004abcdef in the body", "token"),
        ('203.0.113.9 10x1x1 jdoe01 [04/Mar/2026:10:15:35 +0000] "GET / HTTP/1.1" 200', "username"),
        ("dbconfig.xml: <username>jira_fake</username><password>Fake-pw-1</password>", "password"),
        ("dbconfig.xml: <username>jira_fake</username>", "username"),
        (" -- url: /wiki/display/ABC/Home | userName: jdoe01 | traceId: 0a1b2c3d4e5f6a7b", "username"),
        ("Issue ABC-1 assignee changed from Jane Fakename to Zoë Fakerson", "person_name"),
        ("Login failed for user 'jdoe01' from the login form", "username"),
        ("Permission check failed for 5b10ac8d82e05b22cc7d4ef5 on project ABC", "account_id"),
        ('{"phone": "(020) 7946 0958"}', "phone"),
        ("Maestro 5018 0000 0000 0009 on file", "card"),
        ("Connection refused from 203.0.113.9.", "ip"),
        ("GET /rest?query=alice.fake%40example.com HTTP/1.1", "email"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAfake0123\n-----END RSA PRIVATE KEY-----", "token"),
        ("smtp.pass=MailFake!pw", "password"),
        ('<property name="password" value="XmlFake2"/>', "password"),
        ("redis://:RedisFakePw@cache.example.com:6379", "url_credentials"),
        ("host ip-203-0-113-45.ec2.internal", "ip"),
        ("PTR 45.113.0.203.in-addr.arpa", "ip"),
        ("2026-11-30 10:15:30,123+0000 http-nio-8080-exec-1 WARN jdoe.fake 600x123x1 1ab2c3 /rest", "username"),
        ('203.0.113.5 | https | i@1ABC2X | jdoe.fake | 2026-11-30 10:15:30,123 | "GET /scm" |', "username"),
        ("POST /login.jsp os_username=bob.fake&os_password=x", "username"),
        ("bind CN=Bob Fakeman,OU=Staff,DC=example,DC=com", "person_name"),
        ("token github_pat_11AAAAAAA0FAKEFAKEFAKEFAKEFAKEFAKEFAKE", "token"),
        ("webhook https://hooks.slack.com/services/T00000000/B00000000/XXXXFAKEXXXXFAKE", "token"),
    ],
)
def test_each_kind_is_found(line: str, kind: str) -> None:
    assert kind in {f.kind for f in Redactor().find(line)}


@pytest.mark.parametrize(
    "line",
    [
        "2026-11-30 10:15:30,123 INFO [main] c.a.j.c.DefaultComponent started in 12 ms, version 9.12.1",
        "password=******** and token=<hidden> and secret=${SECRET}",
        "card 4111 1111 1111 1112 is not Luhn-valid",
        "lib=std::vector bind=:: ts=10:00:00",
        'host-01 10x1x1 - [04/Mar/2026:10:15:35 +0000] "GET /status HTTP/1.1" 200 12',
        "Issue ABC-2 assignee changed from Unassigned to Nobody",
        "commit 0123456789abcdef0123456789abcdef01234567 at epoch 1709547332123",
        "phone: ext. 12 (short)",
        "build 1.2.3.4-SNAPSHOT netmask 255.255.255.0 words dead::beef abc::def",
        "X-Atlassian-Token: no-check",
        "Access denied (using password: YES)",
        "git.host=https://mycoderepoDNS",
        "bypass=true compass=north",
        "<password>********</password> <token>${TOKEN}</token>",
    ],
)
def test_decoys_and_placeholders_are_left_alone(line: str) -> None:
    assert Redactor().redact(line)[0] == line


def test_customer_host_names_from_a_list() -> None:
    redactor = Redactor(detectors=[hostname_detector(["acme-fake.example.com"])])
    out, _ = redactor.redact("GET https://jira.acme-fake.example.com/rest and acme-fake.example.com; not example.com")
    assert out == "GET https://[REDACTED:hostname]/rest and [REDACTED:hostname]; not example.com"


def test_the_labelled_corpus_every_span_caught_and_no_decoy_touched(shared_dir: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        from redact_eval import score_file
    finally:
        sys.path.pop(0)
    logs = sorted((shared_dir / "cases" / "logs").glob("*.log"))
    assert len(logs) >= 11
    misses: list[str] = []
    for log in logs:
        _tp, fn, fp, notes = score_file(log, Redactor())
        if sum(fn.values()) or sum(fp.values()):
            misses += notes
    assert misses == []


# The two-stage finder (Hyperscan prefilter, then exact patterns on candidate lines) must find exactly what
# running every pattern over the whole text finds.

_FRAGMENTS = [
    "Authorization: Bearer FAKE-BEARER-0001abcd",
    "x-forge-oauth-system: FAKE-SYSTEM-TOKEN-0003",
    "Cookie: tenant.session.token=FAKE-SESSION-0002; theme=dark",
    "db.password=Fake-Passw0rd!",
    "postgres://fakeuser:fakepass@db.example.com:5432/app",
    '"accountId": "557058:f0a1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b"',
    '"displayName": "Jane Fakename"',
    '"displayName": "Zoë Fakeñame-Ünicode"',
    "4111 1111 1111 1111",
    "+44 20 7946 0999",
    "ATATT3xFAKE0004abcdef",
    "erin.fake@example.com",
    "203.0.113.45",
    "2001:db8::1",
    "2001:db8:85a3:0:0:8a2e:370:7334",
    "url: /rest/api/2/issue; user: jdoe01 ",
    "jdbc:postgresql://db.example.com:5432/jira?user=jira&password=Fake-pw9",
    "https://jira.example.com/secure",
    "curl -u jdoe01:f4kePass",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmYWtlIn0.c2lnbmF0dXJl",
    "=db-01.example.com:5432,",
    '10x1x1 jdoe01 [04/Mar/2026:10:15:35 +0000] "GET',
    "<password>Fake-pw-1</password>",
    "assignee changed from Jane Fakename to Zoë Fakerson",
    "userName: jdoe01 |",
    "5b10ac8d82e05b22cc7d4ef5",
    "SEN-1234567",
    "10:15:30,123",
    "9.12.1",
    "std::vector",
    "c.a.j.c.DefaultComponent",
    "1709547332123",
    "é",
    "日本",
    "\ud800",
    " ",
    "\t",
    "\n",
    ";",
    "=",
    ":",
    '"',
    "@",
]


@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=6), max_size=40))
@settings(max_examples=300, deadline=None)
def test_the_prefilter_finds_exactly_what_the_full_scan_finds(parts: list[str]) -> None:
    text = "".join(parts)
    assert Redactor(use_prefilter=True).find(text) == Redactor(use_prefilter=False).find(text)


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30))
@settings(max_examples=200, deadline=None)
def test_no_detector_matches_across_a_line_end(parts: list[str]) -> None:
    text = "".join(parts)
    whole = Redactor(use_prefilter=False).find(text)
    for finding in whole:
        assert "\n" not in text[finding.start : finding.end]
    by_line: list[Finding] = []
    offset = 0
    for line in text.split("\n"):
        by_line += [
            f._replace(start=f.start + offset, end=f.end + offset) for f in Redactor(use_prefilter=False).find(line)
        ]
        offset += len(line) + 1
    assert by_line == whole


def test_the_prefilter_agrees_on_the_corpus_and_a_large_log(shared_dir: Path) -> None:
    texts = [log.read_text("utf-8") for log in sorted((shared_dir / "cases" / "logs").glob("*.log"))]
    texts.append("\n".join(texts) * 200)
    for text in texts:
        fast = Redactor().find(text)
        assert fast == Redactor(use_prefilter=False).find(text)
    assert len(fast) > 1000


def test_without_hyperscan_the_result_is_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from charter.redact import _engine

    line = "Authorization: Bearer FAKE-BEARER-0001abcd from 203.0.113.45 at 10:15:30 for user (jdoe01)\n"
    expected = Redactor().redact(line)
    monkeypatch.setattr(_engine, "_hs", None)
    _engine._prefilter.cache_clear()
    try:
        assert _engine._prefilter(tuple(Redactor().detectors)) is None
        assert Redactor().redact(line) == expected
        assert "[REDACTED:token]" in expected[0] and "[REDACTED:ip]" in expected[0]
    finally:
        _engine._prefilter.cache_clear()


def test_the_prefilter_anchor_of_a_key_value_detector_is_its_context() -> None:
    by_name = {d.name: d for d in DETECTORS}
    assert by_name["password-assignment"].anchor.endswith("[:=][ \\t]*[\\\"']?")
    assert by_name["email"].anchor == by_name["email"].pattern.pattern  # no value group: the whole pattern
    for detector in DETECTORS:
        assert detector.pattern.flags & re.ASCII


@pytest.mark.parametrize("seed", range(3))
def test_a_line_without_end_is_cut_where_no_value_is_split(seed: int) -> None:
    import random

    rng = random.Random(seed)
    parts, values = [], []
    for _ in range(3000):
        if rng.random() < 0.08:
            value = f"Fake-pw-{rng.randrange(10**9)}"
            parts.append(f"password={value} erin{rng.randrange(999)}.fake@example.com ")
            values.append(value)
        else:
            parts.append("x" * rng.randrange(1, 60) + " ")
    text = "".join(parts)  # one line of ~100,000 characters
    chunks = [text[i : i + 777] for i in range(0, len(text), 777)]
    streamed = "".join(Redactor().redact_stream(chunks, block=1024))  # forced cuts every ~8 Ki characters
    assert streamed == Redactor().redact(text)[0]
    assert values and not any(v in streamed for v in values) and "fake@example.com" not in streamed


def test_a_value_longer_than_the_margin_is_redacted_to_its_line_end() -> None:
    text = "token=" + "A" * 60_000 + " tail\nnext line erin.fake@example.com\n"
    chunks = [text[i : i + 1000] for i in range(0, len(text), 1000)]
    assert "".join(Redactor().redact_stream(chunks, block=1024)) == (
        "token=[REDACTED:token]\nnext line [REDACTED:email]\n"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Cookie: seraph.rememberme.cookie=X12345678; foo=FAKEFOOC; ajs_anonymous_id=FAKEAJS; theme=dark",
            "Cookie: seraph.rememberme.cookie=[REDACTED:cookie]; foo=[REDACTED:cookie]; "
            "ajs_anonymous_id=[REDACTED:cookie]; theme=dark",
        ),
        ("Set-Cookie: custom=FAKESETC; Path=/; HttpOnly", "Set-Cookie: custom=[REDACTED:cookie]; Path=/; HttpOnly"),
        ("a=1; b=FAKEVAL2 config", "a=1; b=FAKEVAL2 config"),
        (
            "wrote host-203.0.113.9.log and node_203.0.113.8 ok",
            "wrote host-[REDACTED:ip].log and node_[REDACTED:ip] ok",
        ),
        ("ec2-203-0-113-45.compute-1.amazonaws.com", "ec2-[REDACTED:ip].compute-1.amazonaws.com"),
        ("q=jane%2Bx%40example.com&r=jane.fake%2540example.com", "q=[REDACTED:email]&r=[REDACTED:email]"),
        ("client_secret=FakeCS6 clientSecret=FakeCS7", "client_secret=[REDACTED:token] clientSecret=[REDACTED:token]"),
        ('<entry key="db.password">FakeEntryPw</entry>', '<entry key="db.password">[REDACTED:password]</entry>'),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEAfake0123\nabcdefFAKEFAKE+/=\n2026-11-30 log goes on",
            "-----BEGIN RSA PRIVATE KEY-----[REDACTED:token]\n2026-11-30 log goes on",
        ),
        (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBFAKEFAKEFAKE\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----[REDACTED:token]-----END PGP PRIVATE KEY BLOCK-----",
        ),
    ],
)
def test_cookies_of_any_name_ips_beside_names_encoded_e_mails_and_cut_keys(line: str, expected: str) -> None:
    assert Redactor().redact(line)[0] == expected
