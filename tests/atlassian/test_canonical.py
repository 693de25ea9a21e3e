"""The canonical request and qsh: Atlassian's published vectors, case B01, and properties."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.atlassian import canonical_query, canonical_request, canonical_uri, query_hash

VECTORS = json.loads((Path(__file__).parent / "vectors" / "qsh-vectors.json").read_text("utf-8"))

# One vector signs form-body parameters (atlassian-jwt's ``checkBodyForParams`` mode); its body is the
# query of the vector before it in the npm test file.
BODY = "lic=none&tz=Australia%2FSydney&cp=%2Fjira&user_key=&loc=en-US&user_id=&xdm_e=http%3A%2F%2Fstorm%3A2990&xdm_c=channel-servlet-hello-world&xdm_p=1"


def test_all_published_vectors_are_present() -> None:
    assert len(VECTORS) == 109


@pytest.mark.parametrize("vector", VECTORS, ids=[f"{i:03d}-{v['name']}" for i, v in enumerate(VECTORS)])
def test_published_vector(vector: dict[str, str]) -> None:
    url = urlsplit(vector["url"])
    base = urlsplit(vector["base_url"]).path if vector.get("base_url") else ""
    extra = None
    if vector["name"] == "should correctly create qsh with POST body query string":
        extra = parse_qs(BODY, keep_blank_values=True)
    canonical = canonical_request(vector["method"], url.path, url.query, base_path=base, extra=extra)
    assert canonical == vector["canonical"]
    assert query_hash(canonical) == vector["qsh"]


# -- case B01 ---------------------------------------------------------------------------------------

B01_1 = "GET&/rest/api/3/search&jql=project%20%3D%20FAKE%20AND%20status%20%3D%20%22In%20Progress%22&maxResults=10"


@pytest.mark.parametrize(
    "query",
    [
        "jql=project+%3D+FAKE+AND+status+%3D+%22In+Progress%22&maxResults=10",
        "jql=project%20%3D%20FAKE%20AND%20status%20%3D%20%22In%20Progress%22&maxResults=10",
    ],
)
def test_b01_space_as_plus_or_percent_20(query: str) -> None:
    canonical = canonical_request("GET", "/rest/api/3/search", query)
    assert canonical == B01_1
    assert query_hash(canonical) == "908b2c597bdab389fd6ce89deb90a52878c0694f4bc2553a4862140bf76b365f"


def test_b01_a_literal_plus_is_not_a_space() -> None:
    plus = canonical_request("GET", "/rest/api/3/user/search", "query=jane%2Bfake%40example.com")
    assert plus == "GET&/rest/api/3/user/search&query=jane%2Bfake%40example.com"
    assert query_hash(plus) == "64ea9fa5e2a0ebdde2f32a218e2b74eedd6e782899cec403400c75beaedf5962"
    space = canonical_request("GET", "/rest/api/3/user/search", "query=jane+fake@example.com")
    assert space == "GET&/rest/api/3/user/search&query=jane%20fake%40example.com"
    assert query_hash(space) != query_hash(plus)


@pytest.mark.parametrize("query", ["q=a*b!c'(d)~e", "q=a%2Ab%21c%27%28d%29%7Ee"])
def test_b01_reserved_characters(query: str) -> None:
    canonical = canonical_request("GET", "/rest/api/3/search", query)
    assert canonical == "GET&/rest/api/3/search&q=a%2Ab%21c%27%28d%29~e"
    assert query_hash(canonical) == "07774052d456c7808cfeb1f0013945306dc97bb9a1cd400788bc673691ed0dd0"


def test_b01_utf8() -> None:
    canonical = canonical_request("GET", "/rest/api/3/search", "q=caf%C3%A9")
    assert canonical == "GET&/rest/api/3/search&q=caf%C3%A9"
    assert query_hash(canonical) == "170fa169f772d3c17faeb71500b585ac663c9bc2ac17457721f918da5ae0fd0c"


def test_b01_repeated_keys_and_jwt_parameter() -> None:
    canonical = canonical_request(
        "GET",
        "/path/to/service",
        "zee_last=param&repeated=parameter%201&first=param&repeated=parameter%202&jwt=aaa.bbb.ccc",
    )
    assert canonical == "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param"
    assert query_hash(canonical) == "e52bb281606c3bd9ca16cfe96fe2df78f5d9ffa126f06befd750dfa10fa1a897"
    fields = canonical_request("GET", "/rest/api/2/search", "jql=project%3DFAKE&fields=summary&fields=assignee")
    assert fields == "GET&/rest/api/2/search&fields=assignee,summary&jql=project%3DFAKE"
    assert query_hash(fields) == "68c2c0663c36af69ae858b734999b7d5dbc58a86a98c7baf034da899856490bf"


def test_b01_sorting_uses_encoded_names() -> None:
    canonical = canonical_request("GET", "/search", "z=1&%C3%A9=2")
    assert canonical == "GET&/search&%C3%A9=2&z=1"
    assert query_hash(canonical) == "594333f3dd207169e78a38516d4b5105a2d1c178bfb97d154e15c4f865b36467"


# -- paths ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "base", "expected"),
    [
        ("", "", "/"),
        ("/", "", "/"),
        ("/a/", "", "/a"),
        ("/connect/panel", "/connect", "/panel"),
        ("/connect", "/connect", "/"),
        ("/connectx/panel", "/connect", "/connectx/panel"),
        ("/a&b", "", "/a%26b"),
        ("/p%20q", "", "/p%20q"),
    ],
)
def test_canonical_uri(path: str, base: str, expected: str) -> None:
    assert canonical_uri(path, base) == expected


def test_invalid_utf8_is_hashed_as_sent() -> None:
    assert canonical_query("q=%FF%FE") == "q=%FF%FE"


# -- properties -------------------------------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_PAIRS = st.lists(st.tuples(_TEXT.filter(lambda n: n != "jwt"), _TEXT), max_size=8)


def _query(pairs: list[tuple[str, str]], encode: object) -> str:
    return "&".join(f"{encode(n)}={encode(v)}" for n, v in pairs)  # type: ignore[operator]


@given(_PAIRS, st.randoms())
def test_order_and_encoding_do_not_matter(pairs: list[tuple[str, str]], random: object) -> None:
    percent = _query(pairs, lambda s: quote(s, safe=""))
    shuffled = list(pairs)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    plus = _query(shuffled, lambda s: quote_plus(s, safe=""))
    assert canonical_query(percent) == canonical_query(plus)


@given(_PAIRS)
def test_output_uses_only_unreserved_characters_and_separators(pairs: list[tuple[str, str]]) -> None:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%=&,")
    assert set(canonical_query(_query(pairs, lambda s: quote(s, safe="")))) <= allowed


@given(_PAIRS, _TEXT)
def test_the_jwt_parameter_never_counts(pairs: list[tuple[str, str]], token: str) -> None:
    query = _query(pairs, lambda s: quote(s, safe=""))
    with_jwt = query + ("&" if query else "") + "jwt=" + quote(token, safe="")
    assert canonical_query(with_jwt) == canonical_query(query)


@given(st.sampled_from(["get", "Get", "GET"]), _PAIRS)
def test_qsh_is_the_sha256_of_the_canonical_request(method: str, pairs: list[tuple[str, str]]) -> None:
    import hashlib

    canonical = canonical_request(method, "/x", _query(pairs, lambda s: quote(s, safe="")))
    assert canonical.startswith("GET&/x&")
    assert query_hash(canonical) == hashlib.sha256(canonical.encode()).hexdigest()
