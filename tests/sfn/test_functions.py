"""Local Lambda functions: explicit configuration only, Lambda's error document, the environment."""

from __future__ import annotations

import logging
import os

import pytest

from visiongate.config import load_settings
from visiongate.sfn.errors import StatesError
from visiongate.sfn.functions import (
    GLOBAL_LOG_LISTENERS,
    FunctionError,
    FunctionRegistry,
    parse_function_name,
    prepare_environment,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("classify", ("classify", None)),
        ("classify:prod", ("classify", "prod")),
        ("123456789012:function:classify", ("classify", None)),
        ("arn:aws:lambda:eu-west-1:123456789012:function:classify", ("classify", None)),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:classify:$LATEST",
            ("classify", "$LATEST"),
        ),
    ],
)
def test_function_names_and_arns(text: str, expected: tuple) -> None:
    assert parse_function_name(text) == expected


def test_malformed_function_name_is_lambdas_invalid_parameter_value() -> None:
    with pytest.raises(StatesError) as caught:
        parse_function_name("not a name!")
    assert caught.value.error == "Lambda.InvalidParameterValueException"


def test_error_document_names_the_exception_class() -> None:
    class THRESHOLD_CONFIDENCE_NOT_MET(Exception):  # noqa: N801 - AWS-style error name
        pass

    def handler(event, context):
        raise THRESHOLD_CONFIDENCE_NOT_MET("too low")

    registry = FunctionRegistry({"gate": handler})
    with pytest.raises(FunctionError) as caught:
        registry.invoke(registry.resolve("gate"), {})
    document = caught.value.payload
    assert document["errorType"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert document["errorMessage"] == "too low"
    assert any("in handler" in line for line in document["stackTrace"])


def test_import_failures_are_reported_like_the_lambda_runtime() -> None:
    registry = FunctionRegistry(
        {"missing": "visiongate.no_such_module:handler", "nohandler": "json:no_such_handler"}
    )
    with pytest.raises(FunctionError) as missing:
        registry.invoke(registry.resolve("missing"), {})
    assert missing.value.error_type == "Runtime.ImportModuleError"
    with pytest.raises(FunctionError) as nohandler:
        registry.invoke(registry.resolve("nohandler"), {})
    assert nohandler.value.error_type == "Runtime.HandlerNotFound"


def test_handlers_get_a_json_copy_of_the_event() -> None:
    seen = []
    registry = FunctionRegistry(
        {"mutate": lambda event, context: seen.append(event) or event.update(x=2)}
    )
    event = {"x": 1}
    registry.invoke(registry.resolve("mutate"), event)
    assert event == {"x": 1} and seen[0] is not event


def test_prepare_environment_fills_in_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", raising=False)
    monkeypatch.setenv("THRESHOLD", "0.9")
    settings = load_settings(endpoint_url="http://127.0.0.1:9999", threshold=0.5)
    prepare_environment(settings)
    assert os.environ["AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"] == "http://127.0.0.1:9999"
    assert os.environ["THRESHOLD"] == "0.9"  # explicitly set: kept
    assert os.environ["VISIONGATE_HOME"] == str(settings.home)


def test_global_listeners_receive_records_of_every_registry() -> None:
    records: list[dict] = []
    GLOBAL_LOG_LISTENERS.append(records.append)
    try:
        registry = FunctionRegistry(
            {"talk": lambda event, context: logging.getLogger("x").error("hi")}
        )
        registry.invoke(registry.resolve("talk"), {}, tags={"execution_arn": "arn:x"})
        registry.close()
    finally:
        GLOBAL_LOG_LISTENERS.remove(records.append)
    hi = next(r for r in records if r["message"] == "hi")
    assert (hi["level"], hi["function_name"], hi["execution_arn"]) == ("ERROR", "talk", "arn:x")
