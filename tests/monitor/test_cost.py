"""Cost estimates against hand-computed values from the price table.

Prices: https://aws.amazon.com/step-functions/pricing/ , https://aws.amazon.com/lambda/pricing/ ,
https://aws.amazon.com/sagemaker/pricing/ (us-east-1, read 2026-11-22).
"""

from __future__ import annotations

import json

import pytest

from visiongate.monitor.cost import (
    LAMBDA_GB_SECOND_TIERS,
    PRICES_DATE,
    REGION,
    SFN_EXPRESS_GB_HOUR_TIERS,
    CostError,
    estimate,
    express_gb_seconds,
    lambda_gb_seconds,
    tiered,
)


def lines(result):
    return {
        (line.service, line.item): line for line in result.standard + result.express + result.shared
    }


def test_one_thousand_images_by_hand():
    result = estimate(
        1000,
        transitions_per_execution=3,
        lambda_ms=100,
        memory_mb=128,
        execution_ms=500,
        express_memory_mb=64,
        endpoint_hours=730,
    )
    got = lines(result)
    # 3,000 transitions x $0.025 / 1,000
    assert got[("Step Functions Standard", "state transitions")].cost == pytest.approx(0.075)
    # 1,000 requests x $1.00 / 1M
    assert got[("Step Functions Express", "requests")].cost == pytest.approx(0.001)
    # 1,000 x 0.5 s x 64/1024 GB = 31.25 GB-s = 0.0086806 GB-h x $0.06
    duration = got[("Step Functions Express", "duration")]
    assert duration.quantity == pytest.approx(31.25)
    assert duration.cost == pytest.approx(31.25 / 3600 * 0.06)
    # 3,000 Lambda requests x $0.20 / 1M; 3,000 x 0.1 s x 0.125 GB = 37.5 GB-s x $0.0000166667
    assert got[("Lambda (x86)", "requests")].cost == pytest.approx(0.0006)
    assert got[("Lambda (x86)", "duration")].cost == pytest.approx(37.5 * 0.0000166667)
    # 730 hours x $0.115
    assert got[("SageMaker endpoint", "ml.m5.large x1")].cost == pytest.approx(83.95)
    shared = 0.0006 + 37.5 * 0.0000166667 + 83.95
    assert result.standard_total == pytest.approx(0.075 + shared)
    assert result.express_total == pytest.approx(0.001 + 31.25 / 3600 * 0.06 + shared)


def test_aws_express_pricing_example_100_million_workflows_of_10_seconds():
    # The Step Functions pricing page's example: 100M executions x 10 s at 64 MB is
    # 17,361.11 GB-hours -> $60.00 + $120.00 + $202.97 = $382.97 duration, $100 requests.
    result = estimate(100_000_000, execution_ms=10_000, express_memory_mb=64, endpoint_hours=0)
    got = lines(result)
    assert got[("Step Functions Express", "duration")].quantity / 3600 == pytest.approx(
        17361.11, abs=0.01
    )
    assert got[("Step Functions Express", "duration")].cost == pytest.approx(382.97, abs=0.01)
    assert got[("Step Functions Express", "requests")].cost == pytest.approx(100.0)


def test_express_rounds_duration_up_to_100_ms_and_memory_up_to_64_mb_chunks():
    assert express_gb_seconds(1, 101, 64) == pytest.approx(0.2 * 64 / 1024)
    assert express_gb_seconds(1, 100, 65) == pytest.approx(0.1 * 128 / 1024)


def test_lambda_rounds_each_invocation_up_to_the_millisecond():
    assert lambda_gb_seconds(10, 1.2, 1024) == pytest.approx(10 * 0.002)


def test_tiers_are_filled_in_order():
    assert tiered(1000, SFN_EXPRESS_GB_HOUR_TIERS) == pytest.approx(60.0)
    assert tiered(6000, SFN_EXPRESS_GB_HOUR_TIERS) == pytest.approx(60 + 120 + 1000 * 0.01642)
    assert tiered(7e9, LAMBDA_GB_SECOND_TIERS) == pytest.approx(6e9 * 0.0000166667 + 1e9 * 0.000015)


def test_free_tier_subtracts_the_monthly_allowances():
    free = lines(estimate(1000, free_tier=True, endpoint_hours=0))
    assert free[("Step Functions Standard", "state transitions")].cost == 0.0  # 3,000 < 4,000
    assert free[("Lambda (x86)", "requests")].cost == 0.0
    paid = lines(estimate(2000, transitions_per_execution=3, free_tier=True, endpoint_hours=0))
    assert paid[("Step Functions Standard", "state transitions")].cost == pytest.approx(
        2000 * 0.000025
    )


def test_endpoint_instances_and_custom_prices():
    got = lines(
        estimate(
            0,
            endpoint_hours=10,
            instance_type="ml.c5.large",
            instance_count=2,
            instance_hour_price=0.102,
        )
    )
    assert got[("SageMaker endpoint", "ml.c5.large x2")].cost == pytest.approx(2.04)


def test_the_estimate_shows_region_date_and_sources():
    data = estimate(10).to_json()
    json.dumps(data)
    assert data["region"] == REGION == "us-east-1"
    assert data["prices_date"] == PRICES_DATE
    assert data["sources"]["stepfunctions"].startswith("https://aws.amazon.com/")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_images": -1}, "n_images"),
        ({"n_images": 1, "memory_mb": 64}, "memory_mb"),
        ({"n_images": 1, "instance_type": "ml.p5.48xlarge"}, "no list price"),
    ],
)
def test_nonsense_inputs_are_refused(kwargs, message):
    with pytest.raises(CostError, match=message):
        estimate(**kwargs)
