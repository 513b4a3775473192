"""What every page handler gets: settings, where data lives, and this request's form token."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from visiongate.config import Settings

WINDOWS = {"15m": 900, "1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}


@dataclass
class DashboardConfig:
    settings: Settings
    model_dir: Path | None = None
    captures: str | None = None  # folder, .jsonl file or s3:// prefix of data capture
    review_buckets: list[str] | None = None  # None: REVIEW_BUCKET or discovered (monitor.review)

    @property
    def database(self) -> Path:
        return self.settings.database

    def classes(self) -> list[str]:
        if self.model_dir is None:
            return []
        try:
            data = json.loads((self.model_dir / "model.json").read_text(encoding="utf-8"))
            return [str(c) for c in data.get("classes", [])]
        except (OSError, ValueError, AttributeError):
            return []


@dataclass
class Context:
    config: DashboardConfig
    query: dict[str, str]
    csrf: str = ""
    now: float = field(default_factory=time.time)
    flash: str = ""

    def param(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)

    def window(self, name: str = "since", default: str = "24h") -> tuple[str, float | None]:
        """The chosen window label and its start time (None for 'all')."""
        label = self.param(name, default)
        if label == "all":
            return label, None
        if label not in WINDOWS:
            label = default
        return label, self.now - WINDOWS[label]


def when(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
