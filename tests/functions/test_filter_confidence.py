"""filter_confidence ("Valid confidence"): pass when max(inferences) >= THRESHOLD, else fail
with an error whose class name is exactly THRESHOLD_CONFIDENCE_NOT_MET.

Lambda reports the exception's class name as errorType
(https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html), and Step Functions
surfaces it as the state's Error
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.functions.shapes import SHAPE_IDS, four_shapes
from visiongate.functions import filter_confidence
from visiongate.functions.errors import THRESHOLD_CONFIDENCE_NOT_MET, InvalidEventError


def body(inferences: object, **extra: object) -> dict:
    return {
        "image_data": "iVBORw0KGgo=",
        "s3_bucket": "images",
        "s3_key": "cats/cat.png",
        "inferences": inferences,
        **extra,
    }


def test_a_confident_result_passes_through_unchanged(context) -> None:
    assert filter_confidence.handler(body([0.1, 0.9]), context) == {
        "statusCode": 200,
        "body": body([0.1, 0.9]),
    }


def test_exactly_the_threshold_passes() -> None:
    # The default THRESHOLD is 0.75 and the comparison is >=.
    assert filter_confidence.handler(body([0.25, 0.75]), None)["statusCode"] == 200


def test_below_the_threshold_raises_threshold_confidence_not_met() -> None:
    with pytest.raises(THRESHOLD_CONFIDENCE_NOT_MET) as caught:
        filter_confidence.handler(body([0.4, 0.6]), None)
    error = caught.value
    assert type(error).__name__ == "THRESHOLD_CONFIDENCE_NOT_MET" == error.error_type
    assert "top class 1 has probability 0.6, below the threshold 0.75" in str(error)
    assert (error.top_class, error.probability, error.threshold) == (1, 0.6, 0.75)


def test_the_message_names_the_label_when_the_body_has_labels() -> None:
    with pytest.raises(
        THRESHOLD_CONFIDENCE_NOT_MET, match=r"class 0 \('bicycle'\) has probability 0.7"
    ):
        filter_confidence.handler(body([0.7, 0.3], labels=["bicycle", "motorcycle"]), None)


def test_the_threshold_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THRESHOLD", "0.5")
    assert filter_confidence.handler(body([0.4, 0.6]), None)["statusCode"] == 200
    monkeypatch.setenv("THRESHOLD", "0.95")
    with pytest.raises(THRESHOLD_CONFIDENCE_NOT_MET, match="below the threshold 0.95"):
        filter_confidence.handler(body([0.1, 0.9]), None)


def test_the_threshold_can_come_from_visiongate_toml(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "visiongate.toml").write_text("[gate]\nthreshold = 0.55\n")
    monkeypatch.chdir(tmp_path)
    assert filter_confidence.handler(body([0.4, 0.6]), None)["statusCode"] == 200


@pytest.mark.parametrize("event", four_shapes(body([0.05, 0.95])), ids=SHAPE_IDS)
def test_accepts_all_four_event_shapes(event: object) -> None:
    assert filter_confidence.handler(event, None)["body"]["inferences"] == [0.05, 0.95]


def test_inferences_as_json_text_like_the_original_classify() -> None:
    assert filter_confidence.handler(body("[0.1, 0.9]"), None)["statusCode"] == 200


@pytest.mark.parametrize(
    ("inferences", "message"),
    [
        ([], "non-empty list"),
        (None, "non-empty list"),
        ({"bicycle": 0.9}, "non-empty list"),
        (["0.9"], r"inferences\[0\] is a string, not a number"),
        ([True, 0.1], "not a number"),
        ([float("nan")], "not a probability"),
        ([1.7], "not a probability"),
        ([-0.2, 0.5], "not a probability"),
        ("[0.1,", "not a JSON list"),
    ],
)
def test_bad_inferences_raise_invalid_event_error(inferences: object, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message) as caught:
        filter_confidence.handler(body(inferences), None)
    assert "classify" in (caught.value.hint or "")


def test_missing_inferences_says_to_run_classify_first() -> None:
    event = {"s3_bucket": "images", "s3_key": "cats/cat.png"}
    with pytest.raises(InvalidEventError, match="no 'inferences' field") as caught:
        filter_confidence.handler(event, None)
    assert "run classify first" in (caught.value.hint or "")


def test_the_decision_is_logged(context, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="visiongate.functions")
    with pytest.raises(THRESHOLD_CONFIDENCE_NOT_MET):
        filter_confidence.handler(body([0.4, 0.6]), context)
    lines = [json.loads(r.getMessage()) for r in caplog.records]
    gated = next(line for line in lines if line["event"] == "gated")
    assert gated["passed"] is False and gated["top_class"] == 1 and gated["threshold"] == 0.75
    assert lines[-1]["error_type"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert lines[-1]["request_id"] == context.aws_request_id
