"""The detector registry: each detector has a name, a kind, a pattern and an optional validator.

In the manner of Presidio's recognizers, but every detector is a compiled pattern plus exact validation
(``ipaddress`` for IPs, Luhn for card numbers), and a detector names the group that holds the secret, so the
context that found it (``password=``, ``Authorization:``) stays readable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DETECTORS", "Detector", "harmless_cookie_value", "hostname_detector"]

Validator = Callable[[str], bool]


@dataclass(frozen=True)
class Detector:
    """One kind of sensitive value.

    Attributes:
        name: the detector's name (reported with each finding).
        kind: what is found: ``email``, ``ip``, ``token``, ``cookie``, ``password``, ``username``,
            ``person_name``, ``account_id``, ``url_credentials``, ``jdbc_credentials``, ``card``, ``phone``,
            ``hostname``.
        pattern: the compiled pattern.
        group: the group holding the value (0: the whole match).
        validator: an exact check of a candidate value, when a pattern alone over-matches.
    """

    name: str
    kind: str
    pattern: re.Pattern[str]
    group: int | str = 0
    validator: Validator | None = None
    prefilter: str | None = None

    def __post_init__(self) -> None:
        # ASCII classes (``\w``, ``\d``, ``\s``, ``\b``): log syntax is ASCII, values are taken with negated
        # classes, and the byte-level prefilter then matches a superset of what the pattern matches.
        if not self.pattern.flags & re.ASCII:
            flags = (self.pattern.flags & ~re.UNICODE) | re.ASCII
            object.__setattr__(self, "pattern", re.compile(self.pattern.pattern, flags))

    @property
    def anchor(self) -> str:
        """The expression the engine's multi-pattern prefilter looks for: ``prefilter`` when given, else the
        part of the pattern before the value group ``(?P<v>`` when that group is at the top level (a prefix
        of every match, found once per occurrence instead of once per character of a long value), else the
        whole pattern. Whatever it is, it must match on every line where the pattern matches."""
        if self.prefilter is not None:
            return self.prefilter
        source = self.pattern.pattern
        head, sep, _ = source.partition("(?P<v>")
        if sep and _top_level(head) and re.sub(r"\(\?i\)|\\b|\(\?<[!=][^)]*\)", "", head):
            return head
        return source


def _top_level(head: str) -> bool:
    """Whether the end of ``head`` (a pattern's text before a group) is outside every parenthesis."""
    depth, escaped, in_class = 0, False, False
    for char in head:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
    return depth == 0 and not in_class


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_EXACT = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


_NETMASK_OCTETS = frozenset({"0", "128", "192", "224", "240", "248", "252", "254", "255"})


def _ipv4(value: str) -> bool:
    """What ``ipaddress.IPv4Address`` accepts in dotted-decimal (no leading zeros), at a fraction of its cost;
    netmasks (``255.255.255.0``) are not addresses of anyone."""
    if _IPV4_EXACT.fullmatch(value) is None:
        return False
    octets = value.split(".")
    return not (octets[0] == "255" and all(o in _NETMASK_OCTETS for o in octets))


def _ipv6(value: str) -> bool:
    # ``::`` alone is C++ scope or an empty value, not an address (times never reach here: see ``_IPV6``).
    if value.strip(":") == "" or not any(c.isdigit() for c in value):  # ``dead::beef``: a word, not an address
        return False
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


def _luhn(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    total = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


_PLACEHOLDER = re.compile(
    r"^(?:\*+|x{3,}|X{3,}|<[^>]*>|\$\{[^}]*\}|%s|null|none|redacted|\[redacted\]|\.\.\.|yes|no|true|false)$", re.I
)


def _not_placeholder(value: str) -> bool:
    """A value already masked (``****``, ``<hidden>``, ``${PASSWORD}``) is not a secret."""
    return not _PLACEHOLDER.match(value.strip("'\"()"))


_HARMLESS_COOKIE = re.compile(r"^(?:[a-z]{1,10}|\d{1,4}|[a-z]{2}(?:[-_][A-Za-z]{2})?)$")


def harmless_cookie_value(value: str) -> bool:
    """A cookie value that carries no session or identity: a short lowercase word (``dark``, ``true``), a
    small number or a locale. Every other cookie value is redacted, whatever the cookie's name."""
    return _HARMLESS_COOKIE.match(value) is not None


def _token_like(value: str) -> bool:
    """A value under a ``token``/``secret`` label that looks generated: a digit, mixed case, or 16+
    characters (``X-Atlassian-Token: no-check`` is a flag, not a token)."""
    if not _not_placeholder(value):
        return False
    return any(c.isdigit() for c in value) or (value.lower() != value and value.upper() != value) or len(value) >= 16


_PLACEHOLDER_HOST = re.compile(
    r"(?i)^(?:my|your|some|sample|example|placeholder|test)[\w-]*$|(?:dns|host|hostname|server)$"
)


#: An IPv6 candidate has "::" or at least six colons (``10:15:32`` never qualifies); ``ipaddress`` decides.
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{1,4})*::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?(?:\.\d{1,3}){0,3}"
    r"|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){5,7}(?:\.\d{1,3}){0,3})(?![\w:])"
)
#: A person's name as logs print it: one to four capitalised words (letters of Latin scripts, ' . -).
_NAME = r"(?-i:[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ɏ'\u2019.-]*(?:[ \t][A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ɏ'\u2019.-]*){0,3})"
_NOT_NAMES = frozenset({"unassigned", "none", "anonymous", "automatic", "nobody", "null"})


def _a_name(value: str) -> bool:
    return value.lower() not in _NOT_NAMES


_V = r"[^\s\"',;&<>]+"  # a value up to the usual delimiters
_SYSTEM_USERS = frozenset({"anonymous", "system", "null", "none", "unknown", "admin", "root", "guest"})
_PUBLIC_SHORT_HOSTS = frozenset({"localhost"})

DETECTORS: tuple[Detector, ...] = (
    Detector(
        "email",
        "email",
        re.compile(
            r"(?:(?<=mailto:)|(?<![\w.+:-])(?<!//))[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
        ),
    ),
    # Percent-encoded in URLs and query strings (``?user=jane.roe%40example.com``).
    Detector(
        "email-url-encoded",
        "email",
        re.compile(r"(?<![\w.+%-])[A-Za-z0-9._+%-]+%(?:25)?40[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
        prefilter=r"%(?:25)?40[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2}",
    ),
    Detector(
        "url-credentials",
        "url_credentials",
        re.compile(r"://(?P<v>[^:/\s@\"']*:[^@/\s\"']+)@"),
        "v",
        lambda v: _not_placeholder(v.split(":", 1)[1]),
    ),
    # The user of URL userinfo without a password: ``https://jdoe@jira.example.com/``.
    Detector("url-user", "username", re.compile(r"://(?P<v>[^:/\s@\"'<>]+)@[\w.-]"), "v", _not_placeholder),
    Detector(
        "jdbc-credentials",
        "jdbc_credentials",
        re.compile(r"\bjdbc:[^\s\"']*?[;?&](?:user(?:name)?|password)=(?P<v>[^;&\s\"']+)", re.I),
        "v",
        _not_placeholder,
    ),
    Detector(
        "jwt",
        "token",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"),
        prefilter=r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ",
    ),
    Detector(
        "authorization",
        "token",
        re.compile(
            r"(?i)\b(?:authorization|proxy-authorization|x-forge-oauth-[a-z-]+|x-atlassian-token-secret)"
            r"[\"']?[ \t]*[:=][ \t]*[\"']?(?:(?:bearer|basic|jwt|token)[ \t]+)?(?P<v>[A-Za-z0-9._~+/=:-]{6,})"
        ),
        "v",
        _not_placeholder,
    ),
    Detector(
        "bearer-basic",
        "token",
        re.compile(r"(?i)\b(?:bearer|basic)[ \t]+(?P<v>[A-Za-z0-9._~+/=-]{8,})"),
        "v",
        _not_placeholder,
    ),
    Detector("atlassian-api-token", "token", re.compile(r"\bATATT3[A-Za-z0-9_=-]{8,}")),
    Detector("github-token", "token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}\b")),
    Detector("aws-access-key", "token", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    Detector("slack-token", "token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    Detector("webhook-url-token", "token", re.compile(r"/hooks/(?P<v>[A-Za-z0-9]{16,})\b"), "v"),
    Detector(
        "slack-webhook",
        "token",
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<v>[A-Za-z0-9/_-]{16,})"),
        "v",
    ),
    Detector("github-fine-grained-token", "token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}")),
    Detector("gitlab-token", "token", re.compile(r"\bgl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,}")),
    Detector("stripe-key", "token", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    Detector(
        "private-key-line",
        "token",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?P<v>[A-Za-z0-9+/=\\ ]+?)"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
        ),
        "v",
        prefilter=r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----",
    ),
    Detector(
        "cookie-session",
        "cookie",
        re.compile(
            r"(?i)\b(?:JSESSIONID|seraph\.[\w.]+|atlassian\.xsrf\.token|cloud\.session\.token|tenant\.session\.token"
            r"|[\w.-]*session[\w.-]*|sid|BITBUCKETSESSIONID|crowd\.token_key)=(?P<v>[^;\s,\"']+)"
        ),
        "v",
        _not_placeholder,
    ),
    Detector(
        "token-assignment",
        "token",
        re.compile(
            r"(?i)\b[\w.-]*(?:token|secret|api[_-]?key|access[_-]?key|client[_-]?secret|[._]key)[\"']?"
            r"[ \t]*[:=][ \t]*[\"']?"
            r"(?P<v>[A-Za-z0-9._~+/=|%-]{6,})"
        ),
        "v",
        _token_like,
    ),
    Detector(
        "password-assignment",
        "password",
        re.compile(r"(?i)\b[\w.-]*(?:password|passwd|pwd|passphrase)[\"']?[ \t]*[:=][ \t]*[\"']?(?P<v>" + _V + ")"),
        "v",
        _not_placeholder,
    ),
    # ``smtp.pass=``, ``db_pass:``: ``pass`` as a whole key or after ``.``/``_`` (not ``bypass``, ``compass``).
    Detector(
        "pass-assignment",
        "password",
        re.compile(r"(?i)(?:\b|(?<=[._]))pass[\"']?[ \t]*[:=][ \t]*[\"']?(?P<v>" + _V + ")"),
        "v",
        _not_placeholder,
    ),
    # ``<property name="password" value="..."/>``, ``<input name="atl_token" value="...">``.
    Detector(
        "xml-name-value-password",
        "password",
        re.compile(r"(?i)\bname=[\"'][\w.-]*(?:password|passwd)[\w.-]*[\"'][ \t]+value=[\"'](?P<v>[^\"'\n]{1,500})"),
        "v",
        _not_placeholder,
    ),
    Detector(
        "xml-name-value-token",
        "token",
        re.compile(
            r"(?i)\bname=[\"'][\w.-]*(?:secret|token|api[_-]?key)[\w.-]*[\"'][ \t]+value=[\"'](?P<v>[^\"'\n]{1,500})"
        ),
        "v",
        _not_placeholder,
    ),
    Detector(
        "account-id",
        "account_id",
        re.compile(r"\b(?P<v>\d{6}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"),
        "v",
    ),
    # Atlassian account ids of the older form: 24 lowercase hex digits (letters and digits both).
    Detector(
        "account-id-hex",
        "account_id",
        re.compile(r"\b[0-9a-f]{24}\b"),
        0,
        lambda v: not v.isdigit() and not v.isalpha(),
    ),
    Detector(
        "account-id-field",
        "account_id",
        re.compile(r"(?i)\"?account_?id\"?[ \t]*[:=][ \t]*\"?(?P<v>[0-9a-zA-Z:-]{10,})"),
        "v",
    ),
    Detector(
        "person-name-field",
        "person_name",
        re.compile(
            r"(?i)\"(?:displayName|display_name|author|reporter|assignee|fullName|full_name)\"[ \t]*:[ \t]*"
            r"\"(?P<v>[^\"\n]{1,100})\""
        ),
        "v",
        _not_placeholder,
    ),
    # A person named in Jira's change history: ``assignee changed from Jane Roe to Erin Fake``.
    Detector(
        "person-name-change-from",
        "person_name",
        re.compile(r"(?i)\b(?:assignee|reporter|lead|owner)[ \t]+changed[ \t]+from[ \t]+(?P<v>" + _NAME + ")"),
        "v",
        _a_name,
    ),
    Detector(
        "person-name-change-to",
        "person_name",
        re.compile(
            r"(?i)\b(?:assignee|reporter|lead|owner)[ \t]+changed[ \t]+from[ \t]+.{1,120}?[ \t]+to[ \t]+(?P<v>"
            + _NAME
            + ")"
        ),
        "v",
        _a_name,
        prefilter=r"(?i)\b(?:assignee|reporter|lead|owner)[ \t]+changed[ \t]+from[ \t]+",
    ),
    Detector(
        "username-json",
        "username",
        re.compile(r"(?i)\"(?:user(?:name)?|login|userKey|user_name)\"[ \t]*:[ \t]*\"(?P<v>[^\"\n]{1,100})\""),
        "v",
        _not_placeholder,
    ),
    Detector(
        "username-param",
        "username",
        re.compile(r"(?i)(?:\b|(?<=_))(?:user(?:_?name)?|login)=(?P<v>[^\s&;,\"'()\[\]]{2,64})"),
        "v",
        _not_placeholder,
    ),
    # ``userName: jdoe`` (Confluence's request context), ``userKey: JIRAUSER10100``: a user label and a colon.
    Detector(
        "username-label",
        "username",
        re.compile(r"(?i)\b(?:user_?name|user_?key)[ \t]*:[ \t]+(?P<v>[^\s&;,\"'()\[\]|]{2,64})"),
        "v",
        lambda v: v.lower() not in _SYSTEM_USERS and _not_placeholder(v),
    ),
    # The user field of an access log in Common Log Format (Tomcat, Apache, Atlassian access logs):
    # ``host ident user [10/Oct/2026:13:55:36 +0000]``; ``-`` is no user.
    Detector(
        "access-log-user",
        "username",
        re.compile(r"(?m)^[^\s\[]+ [^\s\[]+ (?P<v>[^\s\[\]]+) \[\d{1,2}/[A-Za-z]{3}/\d{4}:"),
        "v",
        lambda v: v != "-" and v.lower() not in _SYSTEM_USERS,
        prefilter=r" \[\d{1,2}/[A-Za-z]{3}/\d{4}:",
    ),
    # Credentials as XML elements (``dbconfig.xml``, ``server.xml``): ``<password>...</password>``.
    Detector(
        "xml-secret",
        "password",
        re.compile(
            r"(?i)<(?P<tag>[\w.-]*(?:password|passwd|secret|token|api[_-]?key)[\w.-]*)>(?P<v>[^<\n]{1,500})</(?P=tag)>"
        ),
        "v",
        _not_placeholder,
        prefilter=r"(?i)<[\w.-]*(?:password|passwd|secret|token|api[_-]?key)[\w.-]*>",
    ),
    # Java properties as XML: ``<entry key="db.password">...</entry>``.
    Detector(
        "xml-entry-secret",
        "password",
        re.compile(
            r"(?i)<entry[ \t]+key=[\"'][\w.-]*(?:password|passwd|secret|token|api[_-]?key)[\w.-]*[\"'][ \t]*>"
            r"(?P<v>[^<\n]{1,500})</entry>"
        ),
        "v",
        _not_placeholder,
    ),
    Detector(
        "xml-user",
        "username",
        re.compile(r"(?i)<(?P<tag>user(?:_?name)?|login)>(?P<v>[^<\n]{1,200})</(?P=tag)>"),
        "v",
        _not_placeholder,
        prefilter=r"(?i)<(?:user(?:_?name)?|login)>",
    ),
    Detector(
        "user-in-text",
        "username",
        re.compile(
            r"(?i)(?:\b(?:for|by|of) user[ \t]+['\"]?|\buser[ \t]+\()"
            r"(?P<v>[A-Za-z0-9_@-](?:[A-Za-z0-9._@-]{0,62}[A-Za-z0-9_@-])?)"
        ),
        "v",
        lambda v: v.lower() not in _SYSTEM_USERS,
    ),
    # The user column of an atlassian-jira.log line: ``WARN jdoe 600x123x1 1ab2c3 203.0.113.5 /path``
    # (level, user name, request id ``<minute>x<count>x<n>``).
    Detector(
        "jira-log-user-column",
        "username",
        re.compile(r"\b(?:TRACE|DEBUG|INFO|WARN|ERROR|FATAL)[ \t]+(?P<v>[^\s\[\]]+)[ \t]+\d+x\d+x\d+\b"),
        "v",
        lambda v: v != "-" and v.lower() not in _SYSTEM_USERS,
        prefilter=r"[ \t]+\d+x\d+x\d+\b",
    ),
    # Bitbucket's access log: ``ip | protocol | request id | user | 2026-11-30 10:15:30,123 | ...``.
    Detector(
        "bitbucket-access-user",
        "username",
        re.compile(r"\| (?P<v>[^\s|]+) \| \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \|"),
        "v",
        lambda v: v != "-" and v.lower() not in _SYSTEM_USERS,
        prefilter=r" \| \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} \|",
    ),
    # The person of an LDAP distinguished name: ``CN=Jane Roe,OU=Staff,DC=example,DC=com``.
    Detector(
        "ldap-dn-name",
        "person_name",
        re.compile(r"(?i)\b(?:CN|UID)=(?P<v>[^,+=\n\"]{1,100}?)(?=,(?:[ \t]*)(?:OU|DC|O|CN)=)"),
        "v",
        _not_placeholder,
    ),
    # The user of an atlassian-jira.log line (``url: /path; user: name``), Jira's request context format.
    Detector(
        "jira-log-user",
        "username",
        re.compile(r"url: (?<!\wurl: )[^;\s]*; user: (?P<v>[^\s;]+)"),
        "v",
        lambda v: v.lower() not in _SYSTEM_USERS,
    ),
    Detector("username-header", "username", re.compile(r"(?i)\bx-a?username[ \t]*:[ \t]*(?P<v>[^\s,;]+)"), "v"),
    Detector("curl-user", "username", re.compile(r"(?<!\S)-u[ \t]+['\"]?(?P<v>[^:\s'\"]+):[^\s'\"]+"), "v"),
    Detector(
        "curl-password",
        "password",
        re.compile(r"(?<!\S)-u[ \t]+['\"]?[^:\s'\"]+:(?P<v>[^\s'\"]+)"),
        "v",
        _not_placeholder,
    ),
    Detector(
        "jdbc-datasource-user",
        "jdbc_credentials",
        re.compile(r"(?i)jdbc:.*?\b(?:user(?:name)?|password)[ \t]*=[ \t]*['\"]?(?P<v>[^'\",\s}]+)"),
        "v",
        _not_placeholder,
    ),
    Detector(
        "short-host-in-url",
        "hostname",
        re.compile(r"://(?:[^@/\s]+@)?(?P<v>[A-Za-z][\w-]*)(?=[:/'\"\s]|$)"),
        "v",
        lambda v: v.lower() not in _PUBLIC_SHORT_HOSTS and not _PLACEHOLDER_HOST.search(v),
    ),
    Detector(
        "host-list",
        "hostname",
        re.compile(r"(?i)[=,](?P<v>[A-Za-z][\w-]*(?:\.[\w-]+)+):\d{2,5}\b"),
        "v",
        lambda v: not v.replace(".", "").isdigit(),
        prefilter=r"[=,][A-Za-z][\w-]*(?:\.[\w-]+)+:\d{2,5}\b",
    ),
    Detector(
        "shell-prompt-host",
        "hostname",
        re.compile(r"\b[\w.-]+@(?P<v>[A-Za-z][\w-]*):[~/]"),
        "v",
        prefilter=r"@[A-Za-z][\w-]*:[~/]",
    ),
    Detector("support-entitlement", "other", re.compile(r"\bSEN-\d{6,10}\b")),
    # The guard ``(?<![\w.])`` is written after the first digit so that ``re`` can skip to digits quickly.
    Detector(
        "ipv4",
        "ip",
        re.compile(r"\d(?<![A-Za-z0-9.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![A-Za-z0-9]|\.\d|-[A-Za-z])"),
        0,
        _ipv4,
        prefilter=r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d",
    ),
    # An address inside a host name: ``ip-203-0-113-45.ec2.internal``, ``45.113.0.203.in-addr.arpa``.
    Detector(
        "ipv4-in-hostname",
        "ip",
        re.compile(r"(?i)\b(?:ip|ec2)-(?P<v>\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3})\b"),
        "v",
        lambda v: _ipv4(v.replace("-", ".")),
    ),
    Detector(
        "ipv4-reverse-dns",
        "ip",
        re.compile(r"(?i)\b(?P<v>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\.in-addr\.arpa\b"),
        "v",
        _ipv4,
    ),
    # Prefilter: every candidate has "::" or five groups in a row (one report per address, not per digit).
    Detector("ipv6", "ip", _IPV6, 0, _ipv6, prefilter=r"::|(?:[0-9A-Fa-f]{1,4}:){5}"),
    # Brand prefixes (ISO/IEC 7812 IINs of the card schemes) keep 13-digit epoch milliseconds out.
    Detector(
        "card",
        "card",
        re.compile(r"(?<![\w-])(?:3[0-9]|4[0-9]|5[0-9]|2[2-7]|6[0-9])(?:[ -]?\d){11,17}(?![\w-])"),
        0,
        _luhn,
        prefilter=r"(?:3[0-9]|4[0-9]|5[0-9]|2[2-7]|6[0-9])(?:[ -]?\d){11}",
    ),
    Detector(
        "phone", "phone", re.compile(r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,3}\b")
    ),
    # A national number (no ``+``) is only taken where a label says it is one: ``phone: (020) 7946 0958``.
    Detector(
        "phone-field",
        "phone",
        re.compile(
            r"(?i)\b(?:phone|telephone|tel|mobile|cell|fax)(?:[ _-]?(?:no|number))?[\"']?[ \t]*[:=][ \t]*[\"']?"
            r"(?P<v>\+?[\d(][\d ().-]{5,20}\d)"
        ),
        "v",
        lambda v: sum(c.isdigit() for c in v) >= 7,
    ),
)


def hostname_detector(hosts: list[str]) -> Detector:
    """A detector for the customer host names a charter lists: exact names and their subdomains; a name of
    one label (``jira``) only standing alone, not inside a dotted name (``com.atlassian.jira.Foo``)."""
    names = sorted({h.lower().strip(".") for h in hosts if h.strip(".")}, key=len, reverse=True)
    dotted = "|".join(re.escape(n) for n in names if "." in n)
    single = "|".join(re.escape(n) for n in names if "." not in n)
    branches = []
    if dotted:
        branches.append(rf"(?<![\w.-])(?:[\w-]+\.)*(?:{dotted})(?![\w-])")
    if single:
        branches.append(rf"(?<![\w.-])(?:{single})(?![\w-]|\.\w)")
    pattern = re.compile("(?i)" + ("|".join(branches) or r"(?!)"))
    return Detector("customer-host", "hostname", pattern)
