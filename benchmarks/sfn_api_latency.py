"""Step Functions API latency through boto3: visiongate's server against moto's server.

    .venv/bin/python benchmarks/sfn_api_latency.py [--requests 300]

Both servers run on 127.0.0.1 in this process (threads) and are driven by one boto3 client
each, sequentially, over keep-alive connections: DescribeStateMachine (a read) and
StartExecution of a one-Pass-state machine (a write; visiongate also runs and persists the
execution on its thread pool, moto only records it). Figures are the median and 95th
percentile in milliseconds, and requests per second over the run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from _common import print_environment

DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
ROLE = "arn:aws:iam::123456789012:role/bench"


def client(url: str) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(inject_host_prefix=False, retries={"max_attempts": 0}),
    )


def measure(call: Callable[[int], Any], n: int) -> tuple[float, float, float]:
    """(p50 ms, p95 ms, requests/s)."""
    times = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        call(i)
        times.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - start
    times.sort()
    return statistics.median(times), times[int(0.95 * (n - 1))], n / total


def run(url: str, n: int) -> dict[str, tuple[float, float, float]]:
    sfn = client(url)
    arn = sfn.create_state_machine(name="bench", definition=DEFINITION, roleArn=ROLE)[
        "stateMachineArn"
    ]
    return {
        "DescribeStateMachine": measure(
            lambda i: sfn.describe_state_machine(stateMachineArn=arn), n
        ),
        "StartExecution": measure(
            lambda i: sfn.start_execution(stateMachineArn=arn, name=f"e{i}"), n
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from visiongate.config import load_settings
    from visiongate.sfn.api import StepFunctionsBackend, serve_in_thread

    home = tempfile.mkdtemp(prefix="sfn-bench-")
    backend = StepFunctionsBackend(load_settings(home=home), fast_time=True)
    server = serve_in_thread(backend)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    try:
        ours = run(server.url, args.requests)
        theirs = run(f"http://{host}:{port}", args.requests)
    finally:
        server.shutdown()
        moto.stop()
        backend.close(stop_running=True)

    print(f"requests per action: {args.requests} (sequential, one keep-alive client)")
    for action in ours:
        p50, p95, rate = ours[action]
        b50, b95, brate = theirs[action]
        print(
            f"{action:22s} visiongate p50 {p50:6.2f} ms p95 {p95:6.2f} ms {rate:7.1f} req/s | "
            f"moto p50 {b50:6.2f} ms p95 {b95:6.2f} ms {brate:7.1f} req/s | "
            f"p50 ratio (moto/visiongate) {b50 / p50:4.2f}x"
        )
    print_environment("visiongate", "boto3", "botocore", "moto")


if __name__ == "__main__":
    main()
