import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.policy import Duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30d", 30 * 86400),
        ("24h", 86400),
        ("4w", 28 * 86400),
        ("1d12h", 36 * 3600),
        ("90m", 5400),
        ("0s", 0),
        (" 2H ", 7200),
        ("1w2d3h4m5s", 7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
    ],
)
def test_parse(text: str, seconds: int) -> None:
    assert Duration.parse(text).seconds == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30", "'30' has no unit; write e.g. '30d' (days) or '30h' (hours)"),
        ("", "empty duration; write a number with a unit, e.g. '30d'"),
        ("1y", "'1y': months and years are not fixed lengths; give days instead (e.g. '365d')"),
        ("3mo", "'3mo': months and years are not fixed lengths; give days instead (e.g. '365d')"),
        ("5x", "'5x': unknown unit 'x'; use w, d, h, m or s"),
        ("12h1d", "'12h1d': give each unit once, largest first (e.g. '1d12h')"),
        (
            "thirty days",
            "'thirty days' is not a duration; write a number with a unit, e.g. '30d', '24h', '1d12h'",
        ),
        ("-3d", "'-3d' is not a duration; write a number with a unit, e.g. '30d', '24h', '1d12h'"),
        ("40000d", "'40000d' is longer than 100 years"),
    ],
)
def test_parse_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"\S") as info:
        Duration.parse(text)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "human", "canonical"),
    [
        ("72h", "72 hours", "3d"),
        ("24h", "24 hours", "1d"),
        ("30d", "30 days", "30d"),
        ("365d", "365 days", "365d"),
        ("4w", "4 weeks", "4w"),
        ("14d", "2 weeks", "2w"),
        ("1d12h", "36 hours", "1d12h"),
        ("90m", "1 hour and 30 minutes", "1h30m"),
        ("0s", "0 seconds", "0s"),
        ("1s", "1 second", "1s"),
    ],
)
def test_humanize_and_str(text: str, human: str, canonical: str) -> None:
    d = Duration.parse(text)
    assert d.humanize() == human
    assert str(d) == canonical


@given(st.integers(min_value=0, max_value=100 * 365 * 86400))
def test_str_round_trips(seconds: int) -> None:
    d = Duration(seconds)
    assert Duration.parse(str(d)) == d


def test_ordering_and_timedelta() -> None:
    assert Duration.parse("4w") < Duration.parse("6w")
    assert Duration.parse("2d").timedelta.total_seconds() == 172800
    assert Duration.parse("36h").days == 1.5
