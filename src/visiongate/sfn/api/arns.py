"""ARNs and names as the Step Functions API checks them, with AWS's error messages.

    arn:aws:states:us-east-1:123456789012:stateMachine:Name
    arn:aws:states:us-east-1:123456789012:execution:Name:ExecName
    arn:aws:states:us-east-1:123456789012:express:Name:ExecName:uuid
    arn:aws:states:us-east-1:123456789012:mapRun:Name/Label:uuid

Messages recorded against AWS (LocalStack snapshots ``test_sfn_api`` and
``test_sfn_api_express``): ``Invalid Arn: 'Invalid ARN prefix: not_a_valid_arn'`` and
``Invalid Arn: 'Resource type not valid in this context: express'``.
Names: https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
("must not contain whitespace, brackets < > { } [ ], wildcard characters ? *, special
characters " # % \\ ^ | ~ ` $ & , ; : /, control characters").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from visiongate.sfn.errors import InvalidArn, InvalidName

_FORBIDDEN_NAME = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource_type: str
    resource: str  # everything after the resource type (":" or "/" separated)


def parse(text: str) -> Arn:
    """The parts of an ARN; InvalidArn (with AWS's wording) when it is not one."""
    if not text.startswith("arn:"):
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN prefix: {text}'")
    parts = text.split(":", 5)
    if len(parts) < 6 or not parts[5]:
        raise InvalidArn(f"Invalid Arn: 'Invalid ARN: {text}'")
    remainder = parts[5]
    separator = ":" if ":" in remainder else "/"
    resource_type, _, resource = remainder.partition(separator)
    return Arn(parts[1], parts[2], parts[3], parts[4], resource_type, resource)


def expect(text: str, *kinds: str) -> Arn:
    """Parse an ARN whose resource type must be one of ``kinds``."""
    arn = parse(text)
    if arn.service != "states" or arn.resource_type not in kinds or not arn.resource:
        kind = arn.resource_type.lower() if arn.service == "states" else arn.service
        raise InvalidArn(f"Invalid Arn: 'Resource type not valid in this context: {kind}'")
    return arn


def state_machine_arn(text: str) -> Arn:
    """A state machine ARN, optionally with Step Functions Local's ``#TestCase`` suffix."""
    return expect(text.partition("#")[0], "stateMachine")


def check_name(name: str) -> None:
    """InvalidName for names AWS refuses (length is a ValidationException, checked earlier)."""
    if _FORBIDDEN_NAME.search(name):
        raise InvalidName(f"Invalid Name: '{name}'")
