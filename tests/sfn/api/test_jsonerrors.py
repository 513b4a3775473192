"""JSON syntax errors in Jackson's words (what Step Functions, a Java service, reports).

Expected strings were recorded against AWS (LocalStack snapshot test_sfn_api.snapshot.json,
test_invalid_start_execution_input; test_sfn_api_validation.snapshot.json).
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visiongate.sfn.api.jsonerrors import parse_error


def test_unrecognized_token_with_source_location():
    error = parse_error("not a definition")
    assert error.message == (
        "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token "
        "'null', 'true' or 'false')"
    )
    assert error.source == '[Source: (String)"not a definition"; line: 1, column: 4]'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "{'not': 'json'}",
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
        ),
        (
            '{"a" 1}',
            "Unexpected character ('1' (code 49)): was expecting a colon to separate field name and value",
        ),
        (
            '{"a": 1 "b": 2}',
            "Unexpected character ('\"' (code 34)): was expecting comma to separate Object entries",
        ),
        (
            "[1 2]",
            "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries",
        ),
        ("[}", "Unexpected character ('}' (code 125)): expected a value"),
    ],
)
def test_messages(text, message):
    assert parse_error(text).message == message


def test_valid_json_has_no_error():
    assert parse_error('{"a": [1, 2, null]}') is None


@given(st.text(max_size=60))
def test_any_text_is_valid_or_has_a_message_with_a_location(text):
    error = parse_error(text)
    try:
        json.loads(text)
    except ValueError:
        assert error is not None and error.message and error.line >= 1 and error.column >= 1
    else:
        assert error is None
