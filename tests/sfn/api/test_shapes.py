"""Request validation against botocore's model: any JSON object yields the members or a
documented API error (SerializationException / ValidationException), nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from visiongate.sfn.api.exceptions import SerializationException, ValidationException
from visiongate.sfn.api.shapes import operation_names, validate_request

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
MEMBERS = st.sampled_from(
    ["name", "definition", "roleArn", "stateMachineArn", "executionArn", "maxResults", "tags",
     "input", "statusFilter", "nextToken", "reverseOrder", "mock", "loggingConfiguration"]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(operation_names()), st.dictionaries(MEMBERS, JSON, max_size=5))
def test_any_request_is_accepted_or_a_documented_error(operation, params):
    try:
        members = validate_request(operation, params)
    except (SerializationException, ValidationException) as exc:
        assert exc.message
    else:
        assert None not in members.values()


def test_several_violations_are_reported_together():
    with pytest.raises(ValidationException) as excinfo:
        validate_request("ListExecutions", {"maxResults": 5000, "statusFilter": "DONE"})
    assert excinfo.value.message.startswith("2 validation errors detected: ")
    assert "; " in excinfo.value.message


def test_nested_members_have_aws_paths():
    with pytest.raises(ValidationException) as excinfo:
        validate_request(
            "TagResource", {"resourceArn": "a", "tags": [{"key": "k" * 129, "value": "v"}]}
        )
    assert "at 'tags.1.member.key' failed to satisfy constraint" in excinfo.value.message
