"""A process that runs CRASHY until its blocking Task; the crash test SIGKILLs it there.

Usage: python -m tests.sfn.crash_worker <log file> <release file>
"""

from __future__ import annotations

import sys

from tests.sfn import handlers
from visiongate.config import load_settings
from visiongate.sfn.clock import RealClock
from visiongate.sfn.engine import Engine

INVOKE = "arn:aws:states:::lambda:invoke"
CRASHY = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {
                "FunctionName": "record",
                "Payload": {"log.$": "$.log", "name": "prepare"},
            },
            "ResultPath": None,
            # A workflow variable set before the crash: the checkpoint must carry it.
            "Assign": {"who": "prepared-before-the-crash"},
            "Next": "Block",
        },
        "Block": {
            "Type": "Task",
            "Resource": INVOKE,
            "Parameters": {"FunctionName": "block_until_file", "Payload.$": "$"},
            "ResultSelector": {"released.$": "$.Payload.released"},
            "ResultPath": "$.block",
            "Next": "Finish",
        },
        "Finish": {
            "Type": "Pass",
            "Parameters": {"done.$": "$.block.released", "who.$": "$who"},
            "End": True,
        },
    },
}


def main() -> None:
    log, release = sys.argv[1], sys.argv[2]
    engine = Engine(load_settings(), clock=RealClock(), functions=handlers.FUNCTIONS)
    engine.run(CRASHY, {"log": log, "release": release}, name="crashy", state_machine_name="Crashy")


if __name__ == "__main__":
    main()
