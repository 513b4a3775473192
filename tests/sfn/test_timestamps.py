"""ASL timestamps: RFC 3339 with an uppercase T, and Z or a numeric offset.

https://states-language.net/#timestamps
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from visiongate.sfn.timestamps import (
    compare_timestamps,
    format_timestamp,
    is_timestamp,
    parse_timestamp,
    seconds_until,
    timestamp_key,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-03-14T01:59:00Z", datetime(2016, 3, 14, 1, 59, tzinfo=UTC)),
        ("2016-03-14T01:59:00.5Z", datetime(2016, 3, 14, 1, 59, 0, 500000, tzinfo=UTC)),
        ("2016-03-14T01:59:00.123456789Z", datetime(2016, 3, 14, 1, 59, 0, 123456, tzinfo=UTC)),
        (
            "2016-03-14T01:59:00+05:30",
            datetime(2016, 3, 14, 1, 59, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        ),
        ("2016-03-14T01:59:00-00:00", datetime(2016, 3, 14, 1, 59, tzinfo=UTC)),
    ],
)
def test_accepted_forms(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected
    assert is_timestamp(text)


@pytest.mark.parametrize(
    "text",
    [
        "2016-03-14t01:59:00Z",  # lowercase t
        "2016-03-14T01:59:00z",  # lowercase z
        "2016-03-14T01:59:00",  # no zone
        "2016-03-14 01:59:00Z",  # space separator
        "2016-02-30T00:00:00Z",  # no such day
        "2016-03-14T24:00:00Z",
        "2016-03-14T01:59:60Z",
        "2016-03-14T01:59:00+24:00",
        "2016-03-14T01:59:00.Z",
        "2016-03-14T01:59:00.1234567890Z",
        "2016-03-14",
        "",
    ],
)
def test_rejected_forms(text: str) -> None:
    assert parse_timestamp(text) is None
    assert not is_timestamp(text)


@pytest.mark.parametrize("value", [None, 1457920740, ["2016-03-14T01:59:00Z"], {"a": 1}])
def test_non_strings_are_not_timestamps(value: object) -> None:
    assert parse_timestamp(value) is None and timestamp_key(value) is None


def test_comparison_is_by_instant_at_nanosecond_precision() -> None:
    assert compare_timestamps("2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00") == 0
    assert compare_timestamps("2020-01-01T00:00:00.000000001Z", "2020-01-01T00:00:00Z") == 1
    assert compare_timestamps(datetime(2020, 1, 1, tzinfo=UTC), "2020-01-01T00:00:01Z") == -1
    with pytest.raises(ValueError):
        compare_timestamps("yesterday", "2020-01-01T00:00:00Z")


def test_seconds_until_never_negative() -> None:
    now = datetime(2020, 1, 1, tzinfo=UTC)
    assert seconds_until("2020-01-01T00:00:10.5Z", now) == 10.5
    assert seconds_until("2019-01-01T00:00:00Z", now) == 0.0


def test_context_object_format_is_utc_with_milliseconds() -> None:
    moment = datetime(2024, 1, 31, 13, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    assert format_timestamp(moment) == "2024-01-31T12:00:00.123Z"
    assert is_timestamp(format_timestamp(moment))
    with pytest.raises(ValueError):
        format_timestamp(datetime(2024, 1, 1))
