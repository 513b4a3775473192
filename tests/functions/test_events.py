"""unwrap_event: four accepted shapes, and a clear InvalidEventError for anything else."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.functions.shapes import SHAPE_IDS, four_shapes
from visiongate.functions.errors import InvalidEventError
from visiongate.functions.events import probabilities, require_str, respond, unwrap_event

BODY = {"s3_bucket": "images", "s3_key": "cats/cat.png", "inferences": []}


@pytest.mark.parametrize("event", four_shapes(BODY), ids=SHAPE_IDS)
def test_every_shape_unwraps_to_the_body(event: object) -> None:
    assert unwrap_event(event) == BODY


def test_bytes_are_accepted_as_json_text() -> None:
    assert unwrap_event(json.dumps(BODY).encode()) == BODY


def test_a_body_that_merely_has_a_body_field_is_not_unwrapped() -> None:
    # Only {"statusCode", "body"} is a previous function's response.
    assert unwrap_event({"body": "x", "s3_key": "k"}) == {"body": "x", "s3_key": "k"}


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ([1, 2], "must be a JSON object, got a list"),
        (None, "must be a JSON object, got null"),
        (42, "must be a JSON object, got a number"),
        ("not json", "not valid JSON"),
        ('"just a string"', "got a string"),
        ({"statusCode": 500, "body": {}}, "statusCode 500"),
        ({"statusCode": 200, "body": "{oops"}, "event body is a string but not valid JSON"),
        ({"statusCode": 200, "body": [1]}, "got a list"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_other_shapes_raise_invalid_event_error(event: object, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        unwrap_event(event)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(event=json_values | json_values.map(json.dumps) | st.text() | st.binary())
def test_any_event_unwraps_to_a_dict_or_raises_invalid_event_error(event: object) -> None:
    try:
        assert isinstance(unwrap_event(event), dict)
    except InvalidEventError as exc:
        assert exc.message


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "has no 's3_key' field"),
        ({"s3_key": None}, "has no 's3_key' field"),
        ({"s3_key": ""}, "non-empty string, got a string"),
        ({"s3_key": 7}, "non-empty string, got a number"),
        ({"s3_key": ["a"]}, "non-empty string, got a list"),
    ],
)
def test_require_str_names_the_field_and_the_fix(body: dict, message: str) -> None:
    with pytest.raises(InvalidEventError, match=message) as caught:
        require_str(body, "s3_key", "cats/cat.png")
    assert "s3_key" in (caught.value.hint or "")


def test_probabilities_accepts_numbers_in_the_unit_interval() -> None:
    assert probabilities([0, 1, 0.5], "x") == [0.0, 1.0, 0.5]


@pytest.mark.parametrize(
    "value", [[], None, "0.5", [True, 0.5], [float("nan")], [1.5], [-0.1], [[0.5]], {"a": 1}]
)
def test_probabilities_refuses_anything_else(value: object) -> None:
    with pytest.raises(ValueError):
        probabilities(value, "x")


def test_respond_is_the_lambda_response_shape() -> None:
    assert respond({"a": 1}) == {"statusCode": 200, "body": {"a": 1}}
