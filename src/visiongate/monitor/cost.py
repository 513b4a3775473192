"""What the same traffic would cost on AWS at list prices (us-east-1, on-demand).

The workflow is Step Functions → three Lambda functions → a SageMaker real-time
endpoint. For ``n`` images this estimates:

* Step Functions **Standard**: state transitions x $0.025 per 1,000;
* Step Functions **Express**: $1.00 per million requests + duration in GB-seconds
  (each execution rounded up to 100 ms, memory billed in 64 MB chunks), tiered per
  GB-hour ($0.06 for the first 1,000 GB-hours, $0.03 for the next 4,000, $0.01642 after);
* **Lambda** (x86): $0.20 per million requests + $0.0000166667 per GB-second
  (first 6 billion GB-seconds; then $0.000015, then $0.0000133334 past 15 billion),
  each invocation rounded up to 1 ms;
* the **SageMaker endpoint**: instance hours x the instance's hourly price
  (``ml.m5.large`` $0.115/hour) — it bills while it is up, whatever the traffic.

Free tiers (4,000 transitions, 1M Lambda requests and 400,000 GB-seconds a month)
are left out unless ``free_tier=True``: the point is the price of the traffic.
Prices were read on :data:`PRICES_DATE` from the pages in :data:`SOURCES`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from visiongate.errors import VisiongateError

REGION = "us-east-1"
PRICES_DATE = "2026-11-22"

SOURCES = {
    "stepfunctions": "https://aws.amazon.com/step-functions/pricing/",
    "lambda": "https://aws.amazon.com/lambda/pricing/",
    "sagemaker": "https://aws.amazon.com/sagemaker/pricing/",
}

# Step Functions Standard: $0.025 per 1,000 state transitions.
SFN_STANDARD_PER_TRANSITION = 0.025 / 1000
SFN_STANDARD_FREE_TRANSITIONS = 4000
# Step Functions Express: $1.00 per million requests; duration per GB-hour, tiered.
SFN_EXPRESS_PER_REQUEST = 1.00 / 1_000_000
SFN_EXPRESS_GB_HOUR_TIERS: tuple[tuple[float, float], ...] = (
    (1_000.0, 0.06000),  # first 1,000 GB-hours
    (4_000.0, 0.03000),  # next 4,000 GB-hours
    (math.inf, 0.01642),  # beyond 5,000 GB-hours
)
SFN_EXPRESS_BILLING_MS = 100  # duration rounded up to the nearest 100 ms
SFN_EXPRESS_MEMORY_CHUNK_MB = 64  # memory billed in 64 MB chunks
# Lambda (x86): $0.20 per million requests; duration per GB-second, tiered.
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND_TIERS: tuple[tuple[float, float], ...] = (
    (6_000_000_000.0, 0.0000166667),  # first 6 billion GB-seconds / month
    (9_000_000_000.0, 0.0000150000),  # next 9 billion
    (math.inf, 0.0000133334),  # over 15 billion
)
LAMBDA_FREE_REQUESTS = 1_000_000
LAMBDA_FREE_GB_SECONDS = 400_000
# SageMaker real-time inference, on-demand, per instance-hour.
SAGEMAKER_INSTANCE_HOUR = {"ml.m5.large": 0.115}

HOURS_PER_MONTH = 730  # AWS's pricing month


class CostError(VisiongateError):
    """An estimate was asked for with inputs that make no sense (negative, unknown instance)."""


@dataclass(frozen=True)
class CostLine:
    """One priced quantity: ``quantity`` ``unit`` at ``unit_price`` costs ``cost`` (USD)."""

    service: str
    item: str
    quantity: float
    unit: str
    unit_price: str
    cost: float


@dataclass(frozen=True)
class CostEstimate:
    inputs: dict[str, Any]
    standard: list[CostLine]
    express: list[CostLine]
    shared: list[CostLine]  # Lambda and the endpoint: the same under either workflow type
    region: str = REGION
    prices_date: str = PRICES_DATE
    sources: dict[str, str] = field(default_factory=lambda: dict(SOURCES))

    @property
    def standard_total(self) -> float:
        return sum(line.cost for line in self.standard + self.shared)

    @property
    def express_total(self) -> float:
        return sum(line.cost for line in self.express + self.shared)

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "prices_date": self.prices_date,
            "sources": self.sources,
            "inputs": self.inputs,
            "standard": [asdict(line) for line in self.standard],
            "express": [asdict(line) for line in self.express],
            "shared": [asdict(line) for line in self.shared],
            "totals": {"standard": self.standard_total, "express": self.express_total},
        }


def tiered(amount: float, tiers: tuple[tuple[float, float], ...]) -> float:
    """Price ``amount`` units through ``(tier size, unit price)`` tiers, in order."""
    cost, left = 0.0, amount
    for size, price in tiers:
        used = min(left, size)
        cost += used * price
        left -= used
        if left <= 0:
            break
    return cost


def express_gb_seconds(executions: int, duration_ms: float, memory_mb: float) -> float:
    """Billed GB-seconds: duration up to the next 100 ms, memory up to the next 64 MB."""
    billed_ms = math.ceil(duration_ms / SFN_EXPRESS_BILLING_MS) * SFN_EXPRESS_BILLING_MS
    chunks = max(1, math.ceil(memory_mb / SFN_EXPRESS_MEMORY_CHUNK_MB))
    return executions * (billed_ms / 1000) * (chunks * SFN_EXPRESS_MEMORY_CHUNK_MB / 1024)


def lambda_gb_seconds(invocations: int, duration_ms: float, memory_mb: float) -> float:
    """Billed GB-seconds: each invocation's duration up to the next 1 ms."""
    return invocations * (math.ceil(duration_ms) / 1000) * (memory_mb / 1024)


def _check(name: str, value: float, minimum: float = 0) -> None:
    if not isinstance(value, int | float) or math.isnan(value) or value < minimum:
        raise CostError(f"{name} must be a number >= {minimum}, got {value!r}")


def estimate(
    n_images: int,
    transitions_per_execution: int = 3,
    lambda_invocations_per_execution: int = 3,
    lambda_ms: float = 100.0,
    memory_mb: int = 128,
    execution_ms: float = 500.0,
    express_memory_mb: int = 64,
    endpoint_hours: float = HOURS_PER_MONTH,
    instance_type: str = "ml.m5.large",
    instance_count: int = 1,
    instance_hour_price: float | None = None,
    free_tier: bool = False,
) -> CostEstimate:
    """Cost breakdown for ``n_images`` executions of the workflow (one image each).

    ``transitions_per_execution``: states entered per execution (the reference
    workflow has three Task states; retries count extra). ``lambda_ms`` and
    ``memory_mb`` describe one Lambda invocation; ``execution_ms`` and
    ``express_memory_mb`` one whole Express execution. ``endpoint_hours``: how long
    the endpoint is up (default one 730-hour month).
    """
    for name, value in (
        ("n_images", n_images),
        ("transitions_per_execution", transitions_per_execution),
        ("lambda_invocations_per_execution", lambda_invocations_per_execution),
        ("lambda_ms", lambda_ms),
        ("execution_ms", execution_ms),
        ("endpoint_hours", endpoint_hours),
        ("instance_count", instance_count),
    ):
        _check(name, value)
    _check("memory_mb", memory_mb, 128)
    _check("express_memory_mb", express_memory_mb, 1)
    if instance_hour_price is None:
        if instance_type not in SAGEMAKER_INSTANCE_HOUR:
            known = ", ".join(sorted(SAGEMAKER_INSTANCE_HOUR))
            raise CostError(
                f"no list price recorded for instance type {instance_type!r}",
                hint=f"use one of {known}, or pass its hourly price (--instance-price)",
            )
        instance_hour_price = SAGEMAKER_INSTANCE_HOUR[instance_type]
    _check("instance_hour_price", instance_hour_price)

    transitions = n_images * transitions_per_execution
    billable_transitions = (
        max(0, transitions - SFN_STANDARD_FREE_TRANSITIONS) if free_tier else transitions
    )
    standard = [
        CostLine(
            "Step Functions Standard",
            "state transitions",
            transitions,
            "transitions",
            "$0.025 per 1,000",
            billable_transitions * SFN_STANDARD_PER_TRANSITION,
        )
    ]

    gb_seconds = express_gb_seconds(n_images, execution_ms, express_memory_mb)
    express = [
        CostLine(
            "Step Functions Express",
            "requests",
            n_images,
            "requests",
            "$1.00 per million",
            n_images * SFN_EXPRESS_PER_REQUEST,
        ),
        CostLine(
            "Step Functions Express",
            "duration",
            gb_seconds,
            "GB-seconds",
            "$0.06 / $0.03 / $0.01642 per GB-hour (tiered)",
            tiered(gb_seconds / 3600, SFN_EXPRESS_GB_HOUR_TIERS),
        ),
    ]

    invocations = n_images * lambda_invocations_per_execution
    lambda_gbs = lambda_gb_seconds(invocations, lambda_ms, memory_mb)
    billable_requests = max(0, invocations - LAMBDA_FREE_REQUESTS) if free_tier else invocations
    billable_gbs = max(0.0, lambda_gbs - LAMBDA_FREE_GB_SECONDS) if free_tier else lambda_gbs
    hours = endpoint_hours * instance_count
    shared = [
        CostLine(
            "Lambda (x86)",
            "requests",
            invocations,
            "requests",
            "$0.20 per million",
            billable_requests * LAMBDA_PER_REQUEST,
        ),
        CostLine(
            "Lambda (x86)",
            "duration",
            lambda_gbs,
            "GB-seconds",
            "$0.0000166667 per GB-second",
            tiered(billable_gbs, LAMBDA_GB_SECOND_TIERS),
        ),
        CostLine(
            "SageMaker endpoint",
            f"{instance_type} x{instance_count}",
            hours,
            "instance-hours",
            f"${instance_hour_price:g} per hour",
            hours * instance_hour_price,
        ),
    ]
    inputs = {
        "n_images": n_images,
        "transitions_per_execution": transitions_per_execution,
        "lambda_invocations_per_execution": lambda_invocations_per_execution,
        "lambda_ms": lambda_ms,
        "memory_mb": memory_mb,
        "execution_ms": execution_ms,
        "express_memory_mb": express_memory_mb,
        "endpoint_hours": endpoint_hours,
        "instance_type": instance_type,
        "instance_count": instance_count,
        "instance_hour_price": instance_hour_price,
        "free_tier": free_tier,
    }
    return CostEstimate(inputs=inputs, standard=standard, express=express, shared=shared)
