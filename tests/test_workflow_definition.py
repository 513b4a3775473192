"""workflows/image_classification.asl.json: its shape, statelint, and a run of the three
handlers in the order and with the data flow the definition describes (no engine)."""

from __future__ import annotations

import copy
import importlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from statelint.linter import Linter

from tests.functions.fake_sagemaker import FakeSageMakerRuntime
from tests.storage.images import png
from visiongate.config import DEFAULT_DEFINITION, DEFAULT_SUBSTITUTIONS, load_settings
from visiongate.functions import classify
from visiongate.functions.errors import THRESHOLD_CONFIDENCE_NOT_MET
from visiongate.storage import open_store

REPO = Path(__file__).resolve().parents[1]
DEFINITION_FILE = REPO / "workflows" / "image_classification.asl.json"
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
LAMBDA_RETRY = [
    {
        "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
        ],
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2,
    }
]
FUNCTIONS = {
    "Retrieve data": "SerializeImageFunctionName",
    "Inference": "ClassifyFunctionName",
    "Valid confidence": "FilterConfidenceFunctionName",
}
# Step Functions' limit on a state's input or output: 256 KiB.
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
PAYLOAD_LIMIT = 262_144


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(DEFINITION_FILE.read_text(encoding="utf-8"))


def test_the_package_ships_the_same_file() -> None:
    assert DEFAULT_DEFINITION.resolve() == DEFINITION_FILE.resolve()


def test_states_and_transitions(definition: dict) -> None:
    assert definition["Comment"]
    assert definition["StartAt"] == "Retrieve data"
    assert list(definition["States"]) == ["Retrieve data", "Inference", "Valid confidence"]
    assert definition["States"]["Retrieve data"]["Next"] == "Inference"
    assert definition["States"]["Inference"]["Next"] == "Valid confidence"
    assert definition["States"]["Valid confidence"]["End"] is True


@pytest.mark.parametrize(("state", "placeholder"), FUNCTIONS.items())
def test_each_state_invokes_its_lambda_and_keeps_the_payload(
    definition: dict, state: str, placeholder: str
) -> None:
    # https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
    task = definition["States"][state]
    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"] == {"FunctionName": "${" + placeholder + "}", "Payload.$": "$"}
    assert task["OutputPath"] == "$.Payload"
    assert task["Retry"] == LAMBDA_RETRY


def test_no_state_catches_so_the_gate_error_fails_the_execution(definition: dict) -> None:
    assert all("Catch" not in state for state in definition["States"].values())


def test_placeholders_are_exactly_the_configured_substitutions() -> None:
    placeholders = set(re.findall(r"\$\{(\w+)\}", DEFINITION_FILE.read_text(encoding="utf-8")))
    assert placeholders == set(DEFAULT_SUBSTITUTIONS)
    settings = load_settings()
    assert {settings.substitutions[p] for p in placeholders} == set(settings.functions)


def _with_arns(definition: dict) -> dict:
    text = json.dumps(definition)
    for placeholder, name in DEFAULT_SUBSTITUTIONS.items():
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:visiongate-{name}"
        text = text.replace("${" + placeholder + "}", arn)
    return json.loads(text)


def test_statelint_accepts_the_definition(definition: dict) -> None:
    assert Linter.validate(definition) == []
    assert Linter.validate(_with_arns(definition)) == []


def test_statelint_would_notice_a_broken_definition(definition: dict) -> None:
    broken = copy.deepcopy(definition)
    del broken["States"]["Inference"]["Next"]
    assert Linter.validate(broken)


# -- the data flow, state by state, without the engine -----------------------------------
def run_like_step_functions(definition: dict, execution_input: Any, sizes: list[int]) -> Any:
    """Follow StartAt/Next, invoke each state's handler with ``Payload.$: $`` and keep
    ``$.Payload`` of the Lambda result, everything through JSON as Step Functions does."""
    settings = load_settings()
    name, data = definition["StartAt"], execution_input
    while True:
        state = definition["States"][name]
        placeholder = state["Parameters"]["FunctionName"][2:-1]
        module, attribute = settings.functions[settings.substitutions[placeholder]].split(":")
        handler = getattr(importlib.import_module(module), attribute)
        assert state["Parameters"]["Payload.$"] == "$"
        payload = json.loads(json.dumps(data))
        result = {"StatusCode": 200, "Payload": json.loads(json.dumps(handler(payload, None)))}
        assert state["OutputPath"] == "$.Payload"
        data = result["Payload"]
        sizes.append(len(json.dumps(data).encode()))
        if state.get("End"):
            return data
        name = state["Next"]


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMakerRuntime]:
    classify.reset_clients()
    with FakeSageMakerRuntime() as fake:
        monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", fake.url)
        yield fake
    classify.reset_clients()


@pytest.fixture
def images() -> None:
    store = open_store(load_settings())
    store.create_bucket("images")
    store.put("images", "bikes/1.png", png(8, 8))
    store.put("images", "bikes/big.png", png(400, 400))


def test_a_confident_image_flows_through_all_three_states(
    definition: dict, endpoint: FakeSageMakerRuntime, images: None
) -> None:
    endpoint.model("visiongate", [0.08, 0.92])
    sizes: list[int] = []
    output = run_like_step_functions(
        definition, {"s3_bucket": "images", "s3_key": "bikes/1.png"}, sizes
    )
    assert output["statusCode"] == 200
    assert output["body"]["s3_bucket"] == "images" and output["body"]["s3_key"] == "bikes/1.png"
    assert output["body"]["inferences"] == [0.08, 0.92]
    assert endpoint.invocations[0].body == png(8, 8)
    assert endpoint.invocations[0].content_type == "image/png"
    assert all(size < PAYLOAD_LIMIT for size in sizes)


def test_an_unsure_image_fails_with_threshold_confidence_not_met(
    definition: dict, endpoint: FakeSageMakerRuntime, images: None
) -> None:
    endpoint.model("visiongate", [0.55, 0.45])
    with pytest.raises(THRESHOLD_CONFIDENCE_NOT_MET) as caught:
        run_like_step_functions(definition, {"s3_bucket": "images", "s3_key": "bikes/1.png"}, [])
    assert type(caught.value).__name__ == "THRESHOLD_CONFIDENCE_NOT_MET"


def test_a_large_image_flows_by_reference_within_the_payload_limit(
    definition: dict, endpoint: FakeSageMakerRuntime, images: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INLINE_IMAGE_BYTES", "1000")
    endpoint.model("visiongate", [0.9, 0.1])
    sizes: list[int] = []
    output = run_like_step_functions(
        definition, {"s3_bucket": "images", "s3_key": "bikes/big.png"}, sizes
    )
    assert output["body"]["image_data"] is None
    assert output["body"]["image_ref"] == {"s3_bucket": "images", "s3_key": "bikes/big.png"}
    assert endpoint.invocations[0].body == png(400, 400)
    assert max(sizes) < 1000
