"""``GET /metrics``: Prometheus text with SageMaker's CloudWatch metric names and units.

    Invocations, Invocation4XXErrors, Invocation5XXErrors, InvocationModelErrors   counters
    ModelLatency, OverheadLatency                          histograms, microseconds
    BatchSize (images per model call), QueueTime (microseconds in the batch queue) histograms
    InFlightRequests, QueueDepth, ModelLoaded, Capture*    gauges and counters of our own

Labels are CloudWatch's dimensions, ``EndpointName`` and ``VariantName``. Names and units:
https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html
ModelLatency is the container's share (decode + queue + inference + encode); OverheadLatency is
the rest of the time from the request's arrival to its response (HTTP, routing, capture).
Updated only from the event loop thread, so plain integers suffice.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiongate.serving.metrics_history import MetricsHistory

LATENCY_BUCKETS_US = (
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 60_000_000,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*self.buckets, "+Inf"), self.counts, strict=True):
            running += count
            out.append(f'{name}_bucket{{{labels},le="{bound}"}} {running}')
        out.append(f"{name}_sum{{{labels}}} {self.sum:.1f}")
        out.append(f"{name}_count{{{labels}}} {self.count}")
        return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class EndpointMetrics:
    """Counters and histograms of one endpoint variant, rendered on demand."""

    def __init__(
        self,
        endpoint: str,
        variant: str = "AllTraffic",
        history: MetricsHistory | None = None,
    ) -> None:
        self.labels = f'EndpointName="{_escape(endpoint)}",VariantName="{_escape(variant)}"'
        self.history = history
        self.invocations = 0
        self.errors_4xx = 0
        self.errors_5xx = 0
        self.model_errors = 0
        self.model_latency = Histogram(LATENCY_BUCKETS_US)
        self.overhead_latency = Histogram(LATENCY_BUCKETS_US)
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.queue_time = Histogram(LATENCY_BUCKETS_US)
        self.in_flight = 0
        self.gauges: dict[str, tuple[str, Callable[[], float]]] = {}
        self.counters: dict[str, tuple[str, Callable[[], float]]] = {}

    def record_invocation(self, status: int, model_us: float, overhead_us: float) -> None:
        self.invocations += 1
        if 400 <= status < 500:
            self.errors_4xx += 1
            if status == 424:
                self.model_errors += 1
        elif status >= 500:
            self.errors_5xx += 1
        self.model_latency.observe(model_us)
        self.overhead_latency.observe(overhead_us)
        if self.history is not None:
            self.history.add_invocation(status, model_us + overhead_us, model_us)

    def record_batch(self, size: int, queue_seconds: list[float]) -> None:
        self.batch_size.observe(size)
        for seconds in queue_seconds:
            self.queue_time.observe(seconds * 1e6)
        if self.history is not None:
            self.history.add_batch(size)

    def render(self) -> str:
        labels = self.labels
        lines: list[str] = []

        def scalar(name: str, kind: str, help_text: str, value: float) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.append(f"{name}{{{labels}}} {value:g}")

        def histogram(name: str, help_text: str, hist: Histogram) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} histogram")
            lines.extend(hist.lines(name, labels))

        scalar("Invocations", "counter", "InvokeEndpoint requests received.", self.invocations)
        scalar("Invocation4XXErrors", "counter", "Requests answered 4xx.", self.errors_4xx)
        scalar("Invocation5XXErrors", "counter", "Requests answered 5xx.", self.errors_5xx)
        scalar(
            "InvocationModelErrors",
            "counter",
            "Requests answered 424 ModelError.",
            self.model_errors,
        )
        histogram("ModelLatency", "Container time per request, microseconds.", self.model_latency)
        histogram(
            "OverheadLatency",
            "Time outside the model per request, microseconds.",
            self.overhead_latency,
        )
        histogram("BatchSize", "Images per onnxruntime call.", self.batch_size)
        histogram(
            "QueueTime", "Time a request waited for its batch, microseconds.", self.queue_time
        )
        scalar("InFlightRequests", "gauge", "Invocations being processed now.", self.in_flight)
        for name, (help_text, read) in self.gauges.items():
            scalar(name, "gauge", help_text, read())
        for name, (help_text, read) in self.counters.items():
            scalar(name, "counter", help_text, read())
        return "\n".join(lines) + "\n"
