"""Deploy fixtures: boto3 pointed at the shared moto server, a model directory, stack names.

In this folder ``moto_server`` is the shared server plus one documented CloudFormation
behaviour moto lacks (``DefinitionSubstitutions``, see :func:`moto_server`).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/visiongate:1"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def apply_definition_substitutions(properties: dict[str, Any]) -> dict[str, Any]:
    """``AWS::StepFunctions::StateMachine`` properties as the Step Functions provider uses them:
    each ``${Key}`` in ``DefinitionString`` replaced by ``DefinitionSubstitutions[Key]``
    (values are strings, integers or booleans, already resolved by CloudFormation)."""
    substitutions = properties.get("DefinitionSubstitutions")
    definition = properties.get("DefinitionString")
    if not substitutions or not isinstance(definition, str):
        return properties

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            return match.group(0)
        found = substitutions[key]
        if isinstance(found, bool):
            return json.dumps(found)
        if not isinstance(found, str | int):
            # An intrinsic function CloudFormation did not resolve: fail loudly, never
            # store its repr in the definition.
            raise TypeError(f"DefinitionSubstitutions[{key!r}] is unresolved: {found!r}")
        return str(found)

    return {**properties, "DefinitionString": _PLACEHOLDER.sub(value, definition)}


@pytest.fixture(scope="module")
def moto_server(moto_server: str) -> Iterator[str]:
    """The shared moto server, with ``DefinitionSubstitutions`` applied as AWS documents it.

    AWS (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html):
    CloudFormation resolves the intrinsic functions in ``DefinitionSubstitutions``
    and the state machine is created from ``DefinitionString`` with each ``${Key}`` replaced
    by its value. moto's provider (``moto.stepfunctions.models.StateMachine``
    ``create_from_cloudformation_json`` / ``update_from_cloudformation_json``) reads only
    ``DefinitionString``. moto's CloudFormation already resolves ``Ref``/``Fn::GetAtt``
    everywhere in a resource's properties before calling the provider
    (``moto.cloudformation.parsing.clean_json``), so wrapping these two classmethods to apply
    the substitutions first is all that is missing.

    This extends the test double on the server side — the ThreadedMotoServer runs in this
    process — for the duration of a test module, then restores moto. boto3, the HTTP traffic
    and the code under test are untouched.
    """
    from moto.stepfunctions.models import StateMachine

    create = StateMachine.__dict__["create_from_cloudformation_json"].__func__
    update = StateMachine.__dict__["update_from_cloudformation_json"].__func__

    def substituted(cloudformation_json: dict[str, Any]) -> dict[str, Any]:
        properties = cloudformation_json.get("Properties") or {}
        return {**cloudformation_json, "Properties": apply_definition_substitutions(properties)}

    def create_with_substitutions(
        cls: type, resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any
    ) -> Any:
        return create(cls, resource_name, substituted(cloudformation_json), *args, **kwargs)

    def update_with_substitutions(cls: type, *args: Any, **kwargs: Any) -> Any:
        if "cloudformation_json" in kwargs:
            kwargs["cloudformation_json"] = substituted(kwargs["cloudformation_json"])
        else:  # positional: (original_resource, new_resource_name, cloudformation_json, ...)
            args = (*args[:2], substituted(args[2]), *args[3:])
        return update(cls, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            StateMachine, "create_from_cloudformation_json", classmethod(create_with_substitutions)
        )
        patch.setattr(
            StateMachine, "update_from_cloudformation_json", classmethod(update_with_substitutions)
        )
        yield moto_server


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every boto3 client goes to moto over HTTP (AWS_ENDPOINT_URL is boto3's own setting)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return moto_server


@pytest.fixture
def stack_name() -> str:
    return "vg" + uuid.uuid4().hex[:10]


@pytest.fixture
def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def make_model_dir(path: Path) -> Path:
    """A model directory in the layout `visiongate train` writes (contents are placeholders:
    deploying only packages the files, it never loads the model)."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "model.onnx").write_bytes(b"\x08\x07onnx-bytes")
    (path / "model.json").write_text('{"classes": ["bicycle", "motorcycle"]}\n')
    (path / "baseline.json").write_text('{"confidence": []}\n')
    return path


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return make_model_dir(tmp_path / "model")
