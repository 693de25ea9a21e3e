"""A synthetic Atlassian server log (Jira ``atlassian-jira.log`` style, with some Confluence and HTTP access
lines), labelled with the offsets of every sensitive value in it and of look-alike values that are not.

Used by ``bench/redact.py``; run alone it prints a sample::

    .venv/bin/python bench/_synthlog.py [--size-kb 4] [--seed 7]

Everything in it is fake: domains are ``example.com`` / ``example.org``, IPv4 addresses come from the
documentation ranges 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24, IPv6 ones from 2001:db8::/32,
phone numbers from ranges reserved for drama (020 7946 0xxx, 555-01xx), names are obvious placeholders,
and tokens, passwords and ids are random. Most lines (about 85%) carry no secret at all, as in a real log.

``generate`` returns the text and its labels, each ``{"start", "end", "kind", "decoy"}`` with character
offsets into the text. ``decoy`` is false for sensitive values (kinds in :data:`SECRET_KINDS`) and true for
values a redactor should leave alone (kinds in :data:`DECOY_KINDS`). The output depends only on the size and
the seed.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

__all__ = ["DECOY_KINDS", "SECRET_KINDS", "generate"]

SECRET_KINDS = (
    "email",
    "ip",
    "token",
    "cookie",
    "password",
    "account_id",
    "url_credentials",
    "jdbc_credentials",
    "card",
    "phone",
    "username",
    "person_name",
)
DECOY_KINDS = ("timestamp", "version", "class_name", "duration", "request_id")

_FIRST = ("Jane", "John", "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy")
_FIRST += ("Mallory", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoë", "Erika")
_LAST = ("Example", "Sample", "Testperson", "Placeholder", "Fakename", "Doe", "Roe", "Dummy", "Mustermann")
_DOMAINS = ("example.com", "example.org", "mail.example.com", "corp.example.org")
_NETS = ("192.0.2", "198.51.100", "203.0.113")
_PROJECTS = ("FAKE", "DEMO", "TEST", "SAMPLE", "OPS")

_LOGGERS = (
    "c.a.jira.issue.IssueManager",
    "c.a.jira.index.DefaultIndexManager",
    "c.a.plugin.manager.DefaultPluginManager",
    "c.a.j.p.webhooks.WebHookPublisher",
    "c.a.jira.cluster.DefaultClusterManager",
    "c.a.jira.security.login.JiraSeraphAuthenticator",
    "c.a.crowd.directory.DbCachingRemoteDirectory",
    "c.a.jira.mail.MailQueueImpl",
    "c.a.scheduler.core.JobLauncher",
    "c.a.greenhopper.service.sprint.SprintServiceImpl",
    "c.a.jira.startup.JiraStartupLogger",
    "c.a.troubleshooting.stp.scheduler.impl.DefaultSupportScheduledTaskController",
    "c.a.jira.web.filters.accesslog.AccessLogFilter",
    "c.a.j.issue.search.providers.LuceneSearchProvider",
    "c.a.jira.config.database.DatabaseConfigurationManagerImpl",
)
_BACKGROUND_THREADS = (
    "Caesium-1-{}",
    "localq-reader-{}",
    "JiraTaskExecutionThread-{}",
    "pool-12-thread-{}",
    "scheduler_Worker-{}",
    "indexing-queue-processor-{}",
    "ClusterMessageHandlerServiceThread-{}",
)
_PLUGINS = (
    "com.atlassian.upm:atlassian-universal-plugin-manager-plugin",
    "com.atlassian.jira.plugins.jira-development-integration-plugin",
    "com.atlassian.troubleshooting.plugin-jira",
    "com.atlassian.jira.jira-mail-plugin",
    "com.pyxis.greenhopper.jira",
    "com.atlassian.plugins.rest.atlassian-rest-module",
    "com.atlassian.analytics.analytics-client",
    "com.atlassian.jira.plugins.webhooks.jira-webhooks-plugin",
)
_FRAMES = (
    ("com.atlassian.jira.web.filters.steps.ChainedFilterStepRunner", "doFilter"),
    ("com.atlassian.jira.web.filters.JiraLoginFilter", "doFilter"),
    ("com.atlassian.jira.issue.managers.DefaultIssueManager", "getIssueObject"),
    ("com.atlassian.jira.ofbiz.DefaultOfBizDelegator", "findByAnd"),
    ("com.atlassian.plugins.rest.common.security.jersey.XsrfResourceFilter", "filter"),
    ("com.atlassian.jira.rest.v2.issue.IssueResource", "getIssue"),
    ("com.atlassian.seraph.filter.SecurityFilter", "doFilter"),
    ("com.atlassian.jira.plugins.webhooks.url.WebHookUrlManager", "publish"),
    ("com.atlassian.scheduler.core.JobLauncher", "launch"),
    ("org.apache.catalina.core.ApplicationFilterChain", "internalDoFilter"),
    ("org.apache.catalina.core.StandardWrapperValve", "invoke"),
    ("org.apache.coyote.http11.Http11Processor", "service"),
    ("org.ofbiz.core.entity.jdbc.SQLProcessor", "executeQuery"),
    ("org.postgresql.jdbc.PgPreparedStatement", "executeQuery"),
    ("java.base/java.util.concurrent.ThreadPoolExecutor", "runWorker"),
    ("java.base/java.lang.Thread", "run"),
)
_EXCEPTIONS = (
    ("java.lang.IllegalStateException", "Issue no longer exists"),
    ("java.sql.SQLTransientConnectionException", "Connection is not available, request timed out"),
    ("org.ofbiz.core.entity.GenericDataSourceException", "Generic Entity Exception occurred in findByAnd"),
    ("java.net.SocketTimeoutException", "Read timed out"),
    ("com.atlassian.jira.exception.DataAccessException", "Could not load issue"),
    ("java.util.ConcurrentModificationException", "null"),
)
_PATHS = (
    "/rest/api/2/issue/{}",
    "/rest/api/2/search",
    "/browse/{}",
    "/secure/Dashboard.jspa",
    "/rest/agile/1.0/board/12/sprint",
    "/secure/QuickCreateIssue!default.jspa",
    "/rest/api/2/issue/{}/comment",
    "/plugins/servlet/upm",
)
_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Safari/537.36",
    "Apache-HttpClient/4.5.14 (Java/17.0.10)",
    "curl/8.5.0",
)


class _Line:
    """One line being built, with labels relative to its start."""

    __slots__ = ("labels", "length", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.labels: list[tuple[int, int, str, bool]] = []
        self.length = 0

    def add(self, text: str) -> _Line:
        self.parts.append(text)
        self.length += len(text)
        return self

    def secret(self, text: str, kind: str) -> _Line:
        self.labels.append((self.length, self.length + len(text), kind, False))
        return self.add(text)

    def decoy(self, text: str, kind: str) -> _Line:
        self.labels.append((self.length, self.length + len(text), kind, True))
        return self.add(text)

    def text(self) -> str:
        return "".join(self.parts)


class _Faker:
    """Fake values and whole log events, from one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.clock = datetime(2026, 3, 4, 10, 15, 32, 123000, tzinfo=UTC)

    # -- values -------------------------------------------------------------------------------------------

    def tick(self) -> datetime:
        self.clock += timedelta(milliseconds=self.r.randint(0, 900))
        return self.clock

    def timestamp(self) -> str:
        t = self.tick()
        return t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}+0000"

    def person(self) -> tuple[str, str]:
        first, last = self.r.choice(_FIRST), self.r.choice(_LAST)
        return first, last

    def name(self) -> str:
        return " ".join(self.person())

    def username(self) -> str:
        first, last = self.person()
        user = (first[0] + last).lower()
        return user + str(self.r.randint(1, 99)) if self.r.random() < 0.3 else user

    def email(self) -> str:
        first, last = self.person()
        local = f"{first}.{last}".lower().replace("ë", "e")
        return f"{local}@{self.r.choice(_DOMAINS)}"

    def ipv4(self) -> str:
        return f"{self.r.choice(_NETS)}.{self.r.randint(1, 254)}"

    def ipv6(self) -> str:
        groups = [f"{self.r.randint(0, 0xFFFF):x}" for _ in range(3)]
        return f"2001:db8:{groups[0]}::{groups[1]}:{groups[2]}"

    def ip(self) -> str:
        return self.ipv6() if self.r.random() < 0.2 else self.ipv4()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def hexstr(self, n: int, upper: bool = False) -> str:
        value = f"{self.r.getrandbits(4 * n):0{n}x}"
        return value.upper() if upper else value

    def b64url(self, n: int) -> str:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def account_id(self) -> str:
        return f"557058:{self.uuid()}" if self.r.random() < 0.5 else self.hexstr(24)

    def jwt(self) -> str:
        def part(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).rstrip(b"=").decode()

        now = int(self.clock.timestamp())
        claims = {"iss": "fake-app.example.com", "sub": self.account_id(), "iat": now, "exp": now + 180}
        claims["qsh"] = self.hexstr(64)
        return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{self.b64url(43)}"

    def password(self) -> str:
        words = ("Fake", "NotReal", "Example", "Dummy", "Sample")
        return f"{self.r.choice(words)}-{self.b64url(6)}{self.r.randint(10, 99)}{self.r.choice('!#%*')}"

    def card(self) -> str:
        digits = [4] + [self.r.randint(0, 9) for _ in range(14)]
        total = 0
        for i, d in enumerate(reversed(digits)):  # the check digit will sit to the right, so double even i
            if i % 2 == 0:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        digits.append((10 - total % 10) % 10)
        s = "".join(map(str, digits))
        sep = self.r.choice((" ", "-", ""))
        return sep.join(s[i : i + 4] for i in range(0, 16, 4))

    def phone(self) -> str:
        if self.r.random() < 0.5:
            return f"+44 20 7946 0{self.r.randint(0, 999):03d}"
        return f"+1 202-555-01{self.r.randint(0, 99):02d}"

    def version(self) -> str:
        return f"{self.r.randint(1, 9)}.{self.r.randint(0, 20)}.{self.r.randint(0, 12)}"

    def duration(self) -> str:
        if self.r.random() < 0.6:
            return f"{self.r.randint(1, 4000)} ms"
        return f"{self.r.randint(0, 59)}.{self.r.randint(0, 999):03d}s"

    def areq(self) -> str:
        return f"{self.r.randint(600, 1439)}x{self.r.randint(1, 99999)}x{self.r.randint(1, 9)}"

    def issue(self) -> str:
        return f"{self.r.choice(_PROJECTS)}-{self.r.randint(1, 9999)}"

    def path(self) -> str:
        return self.r.choice(_PATHS).format(self.issue())

    def http_thread(self) -> str:
        return f"http-nio-8080-exec-{self.r.randint(1, 200)}"

    def bg_thread(self) -> str:
        return self.r.choice(_BACKGROUND_THREADS).format(self.r.randint(1, 12))

    # -- line heads ---------------------------------------------------------------------------------------

    def head(self, level: str = "INFO", http: bool = False, user: str | None = None) -> _Line:
        """``<timestamp> <thread> [url: ...; user: ...] LEVEL [logger] `` of an atlassian-jira.log line."""
        line = _Line().decoy(self.timestamp(), "timestamp").add(" ")
        if http:
            line.add(f"{self.http_thread()} url: {self.path()}; user: ")
            if user is None:
                line.add("anonymous")
            else:
                line.secret(user, "username")
            line.add(" ")
        else:
            line.add(self.bg_thread() + " ")
        return line.add(f"{level:<5} [").decoy(self.r.choice(_LOGGERS), "class_name").add("] ")

    def http_head(self, level: str = "INFO") -> _Line:
        """An HTTP thread's line; most name the user, some are anonymous."""
        return self.head(level, http=True, user=None if self.r.random() < 0.25 else self.username())

    # -- events without secrets ---------------------------------------------------------------------------

    def plain(self) -> list[_Line]:
        r = self.r
        line = self.head(r.choice(("INFO", "INFO", "INFO", "DEBUG", "WARN")))
        choice = r.randrange(10)
        if choice == 0:
            line.add(f"Plugin '{r.choice(_PLUGINS)}' version ").decoy(self.version(), "version").add(" enabled in ")
            line.decoy(self.duration(), "duration")
        elif choice == 1:
            line.add(f"Reindex of {r.randint(1, 90000)} issues completed in ").decoy(self.duration(), "duration")
        elif choice == 2:
            line.add(f"Caesium job 'com.atlassian.jira.service.JiraService:{r.randint(10000, 10400)}' ran in ")
            line.decoy(self.duration(), "duration").add(" [requestId=").decoy(self.uuid(), "request_id").add("]")
        elif choice == 3:
            line.add("Slow query: took ").decoy(self.duration(), "duration").add(" (threshold 1000 ms) requestId=")
            line.decoy(self.uuid(), "request_id")
        elif choice == 4:
            line.add("Cache '").decoy("com.atlassian.jira.crowd.embedded.ofbiz.OfBizUserDao.userCache", "class_name")
            line.add(f"' flushed: {r.randint(10, 90000)} entries in ").decoy(self.duration(), "duration")
        elif choice == 5:
            line.add("Running Jira ").decoy(self.version(), "version").add(f" build {r.randint(900000, 999999)} on ")
            line.add("Java ").decoy(f"17.0.{r.randint(1, 12)}", "version")
        elif choice == 6:
            line.add(f"Database connection pool: active={r.randint(0, 60)} idle={r.randint(0, 20)} ")
            line.add(f"maxTotal=60 maxWaitMillis={r.choice((5000, 30000))}")
        elif choice == 7:
            line.add(f"{r.choice(_PLUGINS)} ").decoy(self.version(), "version").add(" : module descriptors loaded in ")
            line.decoy(self.duration(), "duration")
        elif choice == 8:
            line.add(f"Cluster node node-{r.randint(1, 4)} heartbeat ok, replication lag ")
            line.decoy(self.duration(), "duration")
        else:
            line.add(f"GC pause (G1 Evacuation Pause) {r.randint(1, 90)}.{r.randint(0, 9)}ms, heap ")
            line.add(f"{r.randint(900, 7900)}M->{r.randint(400, 3000)}M(8192M)")
        return [line]

    def http_plain(self) -> list[_Line]:
        line = self.http_head(self.r.choice(("INFO", "WARN")))
        line.add(f"Request for {self.issue()} served in ").decoy(self.duration(), "duration")
        line.add(" (X-AREQUESTID: ").decoy(self.areq(), "request_id").add(")")
        return [line]

    def stack_trace(self) -> list[_Line]:
        r = self.r
        first = self.http_head("ERROR") if r.random() < 0.5 else self.head("ERROR")
        exc, msg = r.choice(_EXCEPTIONS)
        first.add(f"Unexpected error while processing {self.issue()} (requestId=").decoy(self.uuid(), "request_id")
        lines = [first.add(")"), _Line().decoy(exc, "class_name").add(f": {msg}")]
        for depth in range(r.randint(8, 28)):
            if depth == 12 and r.random() < 0.5:
                cause, cause_msg = r.choice(_EXCEPTIONS)
                lines.append(_Line().add("Caused by: ").decoy(cause, "class_name").add(f": {cause_msg}"))
            cls, method = r.choice(_FRAMES)
            file = cls.rsplit(".", 1)[-1].split("/")[-1]
            frame = _Line().add("\tat ").decoy(f"{cls}.{method}", "class_name")
            lines.append(frame.add(f"({file}.java:{r.randint(20, 2400)})"))
        lines.append(_Line().add(f"\t... {r.randint(10, 120)} more"))
        return lines

    # -- events with secrets ------------------------------------------------------------------------------

    def access(self) -> list[_Line]:
        r = self.r
        t = self.tick()
        line = _Line().secret(self.ip(), "ip").add(" ").decoy(self.areq(), "request_id").add(" ")
        line.secret(self.username(), "username") if r.random() < 0.8 else line.add("-")
        line.add(" [").decoy(t.strftime("%d/%b/%Y:%H:%M:%S +0000"), "timestamp").add("] ")
        method = r.choice(("GET", "GET", "GET", "POST", "PUT"))
        line.add(f'"{method} {self.path()} HTTP/1.1" {r.choice((200, 200, 200, 204, 302, 401, 404))} ')
        line.add(f"{r.randint(0, 90000)} ").decoy(str(r.randint(1, 4000)), "duration")
        line.add(f' "https://jira.example.com/browse/{self.issue()}" "{r.choice(_AGENTS)}" "{self.b64url(6).lower()}"')
        return [line]

    def mail(self) -> list[_Line]:
        line = self.head("INFO").add(f"Sending notification for {self.issue()} to ").secret(self.email(), "email")
        return [line.add(" (template issueupdated.vm) in ").decoy(self.duration(), "duration")]

    def login_failed(self) -> list[_Line]:
        line = self.head("WARN", http=True).add(
            "Login failed for user '"
        )  # not logged in: user anonymous.secret(self.username(), "username")
        return [line.add("' from ").secret(self.ip(), "ip").add(" (reason: AUTHENTICATION_DENIED)")]

    def webhook_payload(self) -> list[_Line]:
        first, last = self.person()
        email = f"{first}.{last}".lower().replace("ë", "e") + "@example.com"
        line = self.head("DEBUG").add('Webhook payload: {"webhookEvent":"jira:issue_updated","user":{"accountId":"')
        line.secret(self.account_id(), "account_id").add('","displayName":"').secret(f"{first} {last}", "person_name")
        line.add('","emailAddress":"').secret(email, "email").add(
            f'","active":true}},"issue":{{"key":"{self.issue()}"}}}}'
        )
        return [line]

    def assignee(self) -> list[_Line]:
        line = self.http_head("INFO").add(f"Issue {self.issue()} assignee changed from ")
        return [line.secret(self.name(), "person_name").add(" to ").secret(self.name(), "person_name")]

    def headers(self) -> list[_Line]:
        r = self.r
        head = self.http_head("DEBUG").add("Inbound request headers (X-AREQUESTID: ").decoy(self.areq(), "request_id")
        lines = [head.add(")"), _Line().add("Host: jira.example.com")]
        if r.random() < 0.7:
            lines.append(_Line().add("Authorization: Bearer ").secret(self.jwt(), "token"))
        else:
            creds = base64.b64encode(f"{self.email()}:ATATT3x{self.b64url(40)}".encode()).decode()
            lines.append(_Line().add("Authorization: Basic ").secret(creds, "token"))
        cookie = _Line().add("Cookie: JSESSIONID=").secret(self.hexstr(32, upper=True), "cookie")
        xsrf = "-".join(self.b64url(4).upper() for _ in range(4)) + f"|{self.hexstr(40)}|lin"
        lines.append(cookie.add("; atlassian.xsrf.token=").secret(xsrf, "cookie"))
        lines.append(_Line().add("X-Forwarded-For: ").secret(self.ip(), "ip"))
        lines.append(_Line().add(f"User-Agent: {r.choice(_AGENTS)}"))
        return lines

    def config_password(self) -> list[_Line]:
        r = self.r
        choice = r.randrange(3)
        if choice == 0:
            line = self.head("INFO").add("Loaded mail server settings: smtp.host=smtp.example.com smtp.port=587 ")
            return [line.add("smtp.user=jira-mailer smtp.password=").secret(self.password(), "password")]
        if choice == 1:
            line = self.head("DEBUG").add("dbconfig.xml: <username>jira_fake</username><password>")
            return [line.secret(self.password(), "password").add("</password>")]
        line = self.http_head("DEBUG").add('Request body: {"username":"')
        line.secret(self.username(), "username").add('","password":"').secret(self.password(), "password")
        return [line.add('","rememberMe":true}')]

    def account(self) -> list[_Line]:
        if self.r.random() < 0.5:
            line = self.http_head("WARN").add("User lookup failed for /rest/api/3/user?accountId=")
            return [line.secret(self.account_id(), "account_id").add(" (404)")]
        line = self.head("WARN").add("Permission check failed for ").secret(self.account_id(), "account_id")
        return [line.add(f" on project {self.r.choice(_PROJECTS)}")]

    def url_credentials(self) -> list[_Line]:
        creds = f"svc-{self.r.choice(_LAST).lower()}:{self.password()}"
        if self.r.random() < 0.5:
            line = self.head("ERROR").add("Cloning https://").secret(creds, "url_credentials")
            return [
                line.add("@git.example.com/scm/fake/repo.git failed: Read timed out after ").decoy(
                    "30000 ms", "duration"
                )
            ]
        line = self.head("INFO").add("Outbound proxy configured: http://").secret(creds, "url_credentials")
        return [line.add("@proxy.example.org:3128")]

    def jdbc(self) -> list[_Line]:
        user, password = f"jira_{self.r.choice(_LAST).lower()}", self.password()
        line = self.head("INFO").add("Database URL ")
        if self.r.random() < 0.5:
            line.add("jdbc:postgresql://db.example.com:5432/jiradb?user=").secret(user, "jdbc_credentials")
            line.add("&password=").secret(password, "jdbc_credentials")
        else:
            line.add("jdbc:sqlserver://db.example.org:1433;databaseName=jira;user=").secret(user, "jdbc_credentials")
            line.add(";password=").secret(password, "jdbc_credentials").add(";encrypt=true")
        return [line.add(" validated in ").decoy(self.duration(), "duration")]

    def card_event(self) -> list[_Line]:
        line = self.http_head("WARN").add(f"Comment on {self.issue()} rejected by content filter: 'please charge ")
        return [line.secret(self.card(), "card").add(" again'")]

    def phone_event(self) -> list[_Line]:
        if self.r.random() < 0.5:
            line = self.head("WARN").add("SMS notification to ").secret(self.phone(), "phone")
            return [line.add(" failed after ").decoy(self.duration(), "duration")]
        line = self.head("DEBUG").add('User profile: {"displayName":"').secret(self.name(), "person_name")
        return [line.add('","phone":"').secret(self.phone(), "phone").add('"}')]

    def confluence(self) -> list[_Line]:
        """An atlassian-confluence.log entry: message line, then the request context line."""
        r = self.r
        t = self.tick()
        ts = t.strftime("%Y-%m-%d %H:%M:%S,") + f"{t.microsecond // 1000:03d}"
        line = _Line().decoy(ts, "timestamp").add(f" WARN [http-nio-8090-exec-{r.randint(1, 50)}] [")
        line.decoy("c.a.confluence.util.http.HttpRetrievalService", "class_name").add("] Request took ")
        context = _Line().add(f" -- url: /wiki/display/{r.choice(_PROJECTS)}/Home | userName: ")
        context.secret(self.username(), "username").add(" | traceId: ").decoy(self.hexstr(16), "request_id")
        return [line.decoy(self.duration(), "duration"), context]


#: (weight, event) for each kind of event; the weights keep about 85% of the lines free of secrets.
_EVENTS = (
    (46, _Faker.plain),
    (7, _Faker.http_plain),
    (4, _Faker.stack_trace),
    (5, _Faker.access),
    (1.5, _Faker.mail),
    (1, _Faker.login_failed),
    (0.6, _Faker.webhook_payload),
    (0.6, _Faker.assignee),
    (0.5, _Faker.headers),
    (0.6, _Faker.config_password),
    (0.6, _Faker.account),
    (0.3, _Faker.url_credentials),
    (0.3, _Faker.jdbc),
    (0.2, _Faker.card_event),
    (0.4, _Faker.phone_event),
    (1.2, _Faker.confluence),
)


def generate(size_bytes: int, seed: int = 7) -> tuple[str, list[dict[str, object]]]:
    """A log of about ``size_bytes`` bytes of UTF-8 (whole lines, at least that size) and its labels."""
    faker = _Faker(seed)
    events = [e for _, e in _EVENTS]
    weights = [w for w, _ in _EVENTS]
    parts: list[str] = []
    labels: list[dict[str, object]] = []
    offset = size = 0
    while size < size_bytes:
        for line in faker.r.choices(events, weights)[0](faker):
            text = line.text() + "\n"
            for start, end, kind, decoy in line.labels:
                labels.append({"start": offset + start, "end": offset + end, "kind": kind, "decoy": decoy})
            parts.append(text)
            offset += len(text)
            size += len(text.encode())
    return "".join(parts), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-kb", type=float, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    text, labels = generate(int(args.size_kb * 1024), args.seed)
    print(text, end="")
    starts = [0, *(i + 1 for i, c in enumerate(text) if c == "\n")]
    secret_lines = {bisect.bisect_right(starts, label["start"]) for label in labels if not label["decoy"]}
    lines = len(starts) - 1
    share = 100 * len(secret_lines) / lines
    print(f"# {lines} lines, {len(secret_lines)} ({share:.1f}%) with a secret, {len(labels)} labels")


if __name__ == "__main__":
    main()
