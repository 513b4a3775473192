"""Timestamps as ASL reads them: RFC 3339 with an uppercase ``T`` and ``Z`` or a numeric offset.

"Timestamps ... MUST conform to the RFC3339 profile of ISO 8601, with the further
restrictions that an uppercase T character MUST be used to separate date and time, and an
uppercase Z character MUST be present in the absence of a numeric time zone offset, for example
2016-03-14T01:59:00Z." -- https://states-language.net/#timestamps

Used by Choice (``Timestamp*`` operators, ``IsTimestamp``) and Wait (``Timestamp``,
``TimestampPath``). Fractional seconds keep nanosecond precision for comparisons (Java's
``Instant``), although the ``datetime`` returned by :func:`parse_timestamp` holds microseconds.
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=2048)
def _parse(text: str) -> tuple[datetime, int] | None:
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    if zulu:
        tz = UTC
    else:
        hours, minutes = int(off_h), int(off_m)
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if sign == "-" else offset)
    nanos = int((fraction or "").ljust(9, "0"))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            nanos // 1000,
            tzinfo=tz,
        )
    except ValueError:  # month 13, February 30, second 60 ...
        return None
    whole = moment.replace(microsecond=0)
    epoch_nanos = int((whole - _EPOCH).total_seconds()) * 1_000_000_000 + nanos
    return moment, epoch_nanos


def parse_timestamp(text: Any) -> datetime | None:
    """An aware datetime for an ASL timestamp string, or None when ``text`` is not one."""
    if not isinstance(text, str):
        return None
    parsed = _parse(text)
    return None if parsed is None else parsed[0]


def is_timestamp(value: Any) -> bool:
    """True when ``value`` is a string ASL accepts as a timestamp."""
    return isinstance(value, str) and _parse(value) is not None


def timestamp_key(value: Any) -> int | None:
    """Nanoseconds since the Unix epoch (exact, for comparisons), or None if not a timestamp."""
    if not isinstance(value, str):
        return None
    parsed = _parse(value)
    return None if parsed is None else parsed[1]


def compare_timestamps(left: datetime | str, right: datetime | str) -> int:
    """-1, 0 or 1. Strings are compared at nanosecond precision; raises ValueError if invalid."""
    a = _key(left)
    b = _key(right)
    return (a > b) - (a < b)


def _key(value: datetime | str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamps must carry a time zone")
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    key = timestamp_key(value)
    if key is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    return key


def seconds_until(timestamp: datetime | str, now: datetime) -> float:
    """Seconds a Wait state must wait from ``now`` until ``timestamp`` (never negative)."""
    remaining = (_key(timestamp) - _key(now)) / 1_000_000_000
    return max(0.0, remaining)


def format_timestamp(moment: datetime) -> str:
    """AWS's context-object format: ``2024-01-31T12:00:00.123Z`` (UTC, milliseconds)."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
