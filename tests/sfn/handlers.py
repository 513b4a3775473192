"""Lambda handlers the engine tests configure explicitly (``Engine(functions=...)``)."""

from __future__ import annotations

import logging
import threading
from typing import Any

CLOCK: Any = None  # the test's VirtualClock: handlers "take time" by advancing it
CALLS: list[tuple[str, Any]] = []
EVENTS: dict[str, threading.Event] = {}
ENGINE: Any = None  # for handlers that answer their own task token

log = logging.getLogger("tests.sfn.handlers")


class CustomError(Exception):
    """A function error whose class name is what Step Functions reports as Error."""


def reset() -> None:
    CALLS.clear()
    EVENTS.clear()
    BROKEN.clear()


def hello(event: Any, context: Any) -> str:
    """The tutorial function of the AWS docs: "Hello, " + event.who + "!"."""
    CALLS.append(("hello", event))
    return "Hello, " + event["who"] + "!"


def echo(event: Any, context: Any) -> Any:
    CALLS.append(("echo", event))
    return event


def context_info(event: Any, context: Any) -> dict[str, Any]:
    return {
        "function_name": context.function_name,
        "invoked_function_arn": context.invoked_function_arn,
        "aws_request_id": context.aws_request_id,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "log_group_name": context.log_group_name,
        "remaining_positive": context.get_remaining_time_in_millis() > 0,
    }


def fail(event: Any, context: Any) -> Any:
    CALLS.append(("fail", event))
    raise CustomError(
        event.get("message", "something went wrong") if isinstance(event, dict) else "x"
    )


def value_error(event: Any, context: Any) -> Any:
    raise ValueError("bad value")


def flaky(event: Any, context: Any) -> Any:
    """Fails with CustomError until it has been called ``event["failures"]`` times."""
    CALLS.append(("flaky", event))
    if sum(1 for name, _ in CALLS if name == "flaky") <= event["failures"]:
        raise CustomError("not yet")
    return {"attempts": sum(1 for name, _ in CALLS if name == "flaky")}


def big(event: Any, context: Any) -> str:
    return "x" * 300_000


def slow(event: Any, context: Any) -> str:
    """Takes ``event["seconds"]`` of virtual time."""
    CLOCK.advance(event["seconds"])
    return "done"


def logs(event: Any, context: Any) -> str:
    log.warning("processing %s", event.get("item"))
    return "logged"


def not_json(event: Any, context: Any) -> Any:
    return {1, 2, 3}


def answer_token(event: Any, context: Any) -> dict[str, Any]:
    """A callback-pattern worker that answers at once through the engine's API."""
    if event.get("fail"):
        ENGINE.send_task_failure(event["token"], "Rejected", "the reviewer said no")
    else:
        ENGINE.send_task_success(
            event["token"], {"approved": True, "token_length": len(event["token"])}
        )
    return {"accepted": True}


def keep_token(event: Any, context: Any) -> dict[str, Any]:
    CALLS.append(("keep_token", event))
    ready = EVENTS.get("token")
    if ready is not None:
        ready.set()
    return {}


BROKEN: set = set()  # items the "item" handler fails on


def item(event: Any, context: Any) -> Any:
    CALLS.append(("item", event))
    if event in BROKEN:
        raise CustomError(f"item {event} is broken")
    return event * 10


def record(event: Any, context: Any) -> Any:
    """Append ``event["name"]`` to the file ``event["log"]`` (survives process crashes)."""
    with open(event["log"], "a", encoding="utf-8") as handle:
        handle.write(event["name"] + "\n")
    return event


def block_until_file(event: Any, context: Any) -> Any:
    """Say BLOCKED on stdout, then wait until ``event["release"]`` exists (crash tests)."""
    import os
    import sys
    import time

    record({"log": event["log"], "name": "block"}, context)
    print("BLOCKED", flush=True)
    sys.stdout.flush()
    while not os.path.exists(event["release"]):
        time.sleep(0.05)
    return {"released": True}


FUNCTIONS = {
    name: f"tests.sfn.handlers:{name}"
    for name in (
        "hello",
        "echo",
        "context_info",
        "fail",
        "value_error",
        "flaky",
        "big",
        "slow",
        "logs",
        "not_json",
        "answer_token",
        "keep_token",
        "item",
        "record",
        "block_until_file",
    )
}
# Names used by AWS documentation examples, mapped to the handlers above.
FUNCTIONS["HelloFunction"] = "tests.sfn.handlers:hello"
FUNCTIONS["HelloWorld"] = "tests.sfn.handlers:hello"
