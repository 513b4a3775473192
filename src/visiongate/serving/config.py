"""Everything one server needs to know, validated once when it is built.

``visiongate serve`` and the container's ``serve`` entrypoint fill it from options and
environment variables; tests build it directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from visiongate.errors import ConfigError
from visiongate.serving.batching import BatchConfig
from visiongate.serving.capture import CaptureConfig
from visiongate.serving.http import HttpLimits
from visiongate.serving.model import available_cores

_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")  # SageMaker's EndpointName rule


@dataclass(frozen=True)
class ServerConfig:
    model_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    endpoint_name: str = "visiongate"
    variant: str = "AllTraffic"
    capture: CaptureConfig | None = None
    # One batch per core at a time, each on one onnxruntime thread: measured cheaper per image
    # than one batch spread over both cores (docs/serving.md).
    batch: BatchConfig = field(default_factory=lambda: BatchConfig(concurrency=available_cores()))
    http: HttpLimits = field(default_factory=HttpLimits)
    threads: int | None = None  # intra-op threads per batch (default: cores // concurrency)
    database: Path | None = None  # per-minute metrics history; None disables it
    metrics_flush_seconds: float = 10.0
    drain_timeout: float = 25.0  # SageMaker sends SIGKILL 30 s after SIGTERM
    reuse_port: bool = False  # several worker processes share the port (SO_REUSEPORT)

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not 0..65535")
        if self.threads is not None and not 1 <= self.threads <= 256:
            problems.append(f"threads {self.threads} is not 1..256")
        limits = self.http
        if limits.max_body_bytes < 1:
            problems.append("the body limit must be at least 1 byte")
        if limits.request_timeout <= 0 or limits.idle_timeout <= 0:
            problems.append("timeouts must be positive")
        if not _ENDPOINT_NAME.fullmatch(self.endpoint_name or ""):
            problems.append(
                f"endpoint name {self.endpoint_name!r} is not a SageMaker endpoint name "
                "(letters, digits and hyphens, at most 63)"
            )
        if problems:
            raise ConfigError("invalid server settings: " + "; ".join(problems))
