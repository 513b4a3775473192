"""Engine throughput: state transitions per second of an inline Map over Pass/Choice/intrinsics.

    .venv/bin/python benchmarks/engine_throughput.py [--items 10000] [--moto-items 1000]

The definition is an inline Map over ``--items`` items; each iteration runs a Pass state with
intrinsic functions (States.Format), a Choice and one of two Pass states (States.MathAdd): three
state transitions per item. visiongate runs it in process with its full history kept and
persisted to SQLite (every event is in the database when the run returns). The baseline is
moto's Step Functions engine in its opt-in execution mode
(``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``, moto's port of
LocalStack's interpreter) on the same definition, in the same process; it is timed on
``--moto-items`` items (it is far slower) and both figures are transitions per second.

The 25,000-event history quota is lifted for this run (``history_limit=None``): an inline Map
over 10,000 items needs ~80,000 events, which AWS itself would refuse (use a Distributed Map
there). Everything else is the engine's normal path.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from _common import print_environment

DEFINITION = {
    "Comment": "Benchmark: an inline Map of Pass / Choice / intrinsic-function states",
    "StartAt": "Items",
    "States": {
        "Items": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 0,
            "ItemSelector": {"n.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Label",
                "States": {
                    "Label": {
                        "Type": "Pass",
                        "Parameters": {"n.$": "$.n", "label.$": "States.Format('item-{}', $.n)"},
                        "Next": "Size",
                    },
                    "Size": {
                        "Type": "Choice",
                        "Choices": [
                            {"Variable": "$.n", "NumericGreaterThanEquals": 5000, "Next": "Big"}
                        ],
                        "Default": "Small",
                    },
                    "Big": {
                        "Type": "Pass",
                        "Parameters": {
                            "label.$": "$.label",
                            "double.$": "States.MathAdd($.n, $.n)",
                        },
                        "End": True,
                    },
                    "Small": {
                        "Type": "Pass",
                        "Parameters": {"label.$": "$.label", "next.$": "States.MathAdd($.n, 1)"},
                        "End": True,
                    },
                },
            },
            "ResultSelector": {"count.$": "States.ArrayLength($)"},
            "End": True,
        }
    },
}


def run_visiongate(items: int, repeat: int, workdir: Path) -> tuple[float, float, int, int]:
    """Best wall time and best process CPU time of ``repeat`` runs, and the transitions and
    persisted events of one run. CPU time counts every thread (the SQLite writer too)."""
    from visiongate.config import load_settings
    from visiongate.sfn.clock import RealClock
    from visiongate.sfn.engine import Engine

    settings = load_settings(home=workdir / "home")
    best = best_cpu = float("inf")
    transitions = events = 0
    payload = {"items": list(range(items))}
    with Engine(settings, clock=RealClock(), history_limit=None, prepare_env=False) as engine:
        engine.run(DEFINITION, {"items": [1, 2]})  # compile and warm up
        for _ in range(repeat):
            started, cpu = time.perf_counter(), time.process_time()
            result = engine.run(DEFINITION, payload)
            elapsed = time.perf_counter() - started
            best_cpu = min(best_cpu, time.process_time() - cpu)
            assert result.succeeded and result.output == {"count": items}, result.cause
            best = min(best, elapsed)
            with sqlite3.connect(engine.store.path) as conn:
                execution_id = conn.execute(
                    "SELECT id FROM executions WHERE arn = ?", (result.arn,)
                ).fetchone()[0]
                keys = (execution_id << 32, (execution_id << 32) | 0xFFFFFFFF)
                events = conn.execute(
                    "SELECT COUNT(*) FROM events WHERE key BETWEEN ? AND ?", keys
                ).fetchone()[0]
                transitions = conn.execute(
                    "SELECT COUNT(*) FROM events WHERE key BETWEEN ? AND ? "
                    "AND type LIKE '%StateEntered'",
                    keys,
                ).fetchone()[0]
    return best, best_cpu, transitions, events


def run_moto(items: int) -> tuple[float, int]:
    """Wall time and transitions of one execution on moto's Step Functions interpreter."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    import boto3
    from moto import mock_aws

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name="us-east-1")
        arn = client.create_state_machine(
            name="benchmark",
            definition=json.dumps(DEFINITION),
            roleArn="arn:aws:iam::123456789012:role/benchmark",
        )["stateMachineArn"]
        started = time.perf_counter()
        execution = client.start_execution(
            stateMachineArn=arn, input=json.dumps({"items": list(range(items))})
        )["executionArn"]
        while True:
            status = client.describe_execution(executionArn=execution)
            if status["status"] != "RUNNING":
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        assert status["status"] == "SUCCEEDED", status
        transitions = 0
        token = None
        while True:
            page = client.get_execution_history(
                executionArn=execution, maxResults=1000, **({"nextToken": token} if token else {})
            )
            transitions += sum(1 for e in page["events"] if e["type"].endswith("StateEntered"))
            token = page.get("nextToken")
            if not token:
                break
    return elapsed, transitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="items of the inline Map")
    parser.add_argument("--moto-items", type=int, default=1_000, help="items for moto's run")
    parser.add_argument("--repeat", type=int, default=5, help="visiongate runs (best is kept)")
    parser.add_argument("--no-moto", action="store_true", help="skip the baseline")
    args = parser.parse_args()

    import moto
    from rich.console import Console

    console = Console()
    print_environment("visiongate", "moto", extra=f"SQLite {sqlite3.sqlite_version}")
    status = console.status(f"visiongate: inline Map over {args.items:,} items ...")
    with tempfile.TemporaryDirectory() as tmp, status:
        elapsed, cpu, transitions, events = run_visiongate(args.items, args.repeat, Path(tmp))
    ours = transitions / elapsed
    console.print(
        f"visiongate: {transitions:,} state transitions in {elapsed:.3f} s (best of {args.repeat}) "
        f"= [bold]{ours:,.0f} transitions/s[/]; {events:,} history events persisted to SQLite; "
        f"process CPU {cpu:.3f} s = {transitions / cpu:,.0f} transitions per CPU-second"
    )
    if args.no_moto:
        return
    with console.status(f"moto: inline Map over {args.moto_items:,} items ..."):
        moto_elapsed, moto_transitions = run_moto(args.moto_items)
    theirs = moto_transitions / moto_elapsed
    console.print(
        f"moto {moto.__version__} (execute_state_machine): {moto_transitions:,} state transitions "
        f"in {moto_elapsed:.3f} s = [bold]{theirs:,.0f} transitions/s[/]"
    )
    console.print(f"ratio: visiongate / moto = [bold]{ours / theirs:,.1f}x[/]")
    targets = ours >= 25_000 and ours / theirs >= 30
    console.print(
        f"targets (>= 25,000 transitions/s and >= 30x moto): {'met' if targets else 'NOT met'}"
    )
    sys.exit(0)


if __name__ == "__main__":
    main()
