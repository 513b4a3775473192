"""workflows/image_classification_review.asl.json: the main workflow plus a human review branch
that works the same on AWS (the .waitForTaskToken callback pattern)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from statelint.linter import Linter

from tests.conftest import REPO
from visiongate.config import DEFAULT_DEFINITION, DEFAULT_SUBSTITUTIONS, load_settings
from visiongate.monitor.review import REVIEW_DEFINITION, REVIEW_SUBSTITUTIONS, review_settings
from visiongate.sfn.engine import Engine
from visiongate.sfn.validate import validate_definition

DEFINITION_FILE = REPO / "workflows" / "image_classification_review.asl.json"
GATE = ["Retrieve data", "Inference", "Valid confidence"]


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(DEFINITION_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def main() -> dict[str, Any]:
    return json.loads(DEFAULT_DEFINITION.read_text(encoding="utf-8"))


def test_the_package_ships_the_same_file() -> None:
    assert REVIEW_DEFINITION.resolve() == DEFINITION_FILE.resolve()


def test_the_three_gate_states_are_the_main_workflows_plus_a_catch(definition, main) -> None:
    assert definition["StartAt"] == main["StartAt"] == "Retrieve data"
    assert list(definition["States"]) == [*GATE, "Human review", "Reviewed"]
    for name in GATE:
        ours = {k: v for k, v in definition["States"][name].items() if k not in ("Comment",)}
        theirs = {k: v for k, v in main["States"][name].items() if k not in ("Comment",)}
        ours.pop("Catch", None)
        assert ours == theirs, name


def test_only_the_gate_error_goes_to_review(definition) -> None:
    # https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
    assert definition["States"]["Valid confidence"]["Catch"] == [
        {
            "ErrorEquals": ["THRESHOLD_CONFIDENCE_NOT_MET"],
            "ResultPath": "$.gate_error",
            "Next": "Human review",
        }
    ]
    assert all("Catch" not in definition["States"][name] for name in GATE[:2])


def test_human_review_waits_for_a_task_token_for_at_most_a_week(definition) -> None:
    # https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token
    task = definition["States"]["Human review"]
    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert task["Parameters"] == {
        "FunctionName": "${RequestReviewFunctionName}",
        "Payload": {
            "token.$": "$$.Task.Token",
            "input.$": "$",
            "execution.$": "$$.Execution.Id",
            "state.$": "$$.State.Name",
        },
    }
    assert task["TimeoutSeconds"] == 7 * 24 * 3600
    assert "HeartbeatSeconds" not in task  # people do not send heartbeats
    assert task["ResultPath"] == "$.review" and task["Next"] == "Reviewed"


def test_the_output_carries_the_reviewers_label(definition) -> None:
    shaped = definition["States"]["Reviewed"]
    assert shaped["Type"] == "Pass" and shaped["End"] is True
    assert shaped["Parameters"] == {
        "s3_bucket.$": "$.body.s3_bucket",
        "s3_key.$": "$.body.s3_key",
        "inferences.$": "$.body.inferences",
        "label.$": "$.review.label",
        "reviewed": True,
        "review.$": "$.review",
    }


def _with_arns(text: str) -> dict:
    for placeholder, name in {**DEFAULT_SUBSTITUTIONS, **REVIEW_SUBSTITUTIONS}.items():
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:visiongate-{name}"
        text = text.replace("${" + placeholder + "}", arn)
    return json.loads(text)


def test_statelint_and_our_validator_accept_it(definition) -> None:
    text = DEFINITION_FILE.read_text(encoding="utf-8")
    assert Linter.validate(definition) == []
    assert Linter.validate(_with_arns(text)) == []
    assert validate_definition(json.dumps(_with_arns(text))) == []
    broken = copy.deepcopy(definition)
    broken["States"]["Valid confidence"]["Catch"][0]["Next"] = "Nowhere"
    assert Linter.validate(broken)


def test_every_placeholder_resolves_with_the_review_settings() -> None:
    text = DEFINITION_FILE.read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    settings = review_settings(load_settings())
    assert placeholders == set(DEFAULT_SUBSTITUTIONS) | set(REVIEW_SUBSTITUTIONS)
    assert {settings.substitutions[p] for p in placeholders} <= set(settings.functions)
    engine = Engine(settings, prepare_env=False)
    try:
        assert engine.validate(text) == []
        assert "${" not in engine.resolve_definition(text)
    finally:
        engine.close()
