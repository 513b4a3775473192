"""The CloudFormation template: the local workflow, deployable to AWS unchanged.

``build_template(settings)`` returns the template as a dict; ``render(template, "yaml")``
turns it into text. The workflow definitions are read from disk and embedded verbatim —
``settings.definition`` (workflows/image_classification.asl.json),
workflows/image_classification_batch.asl.json and, when ``EnableReviewStateMachine``,
workflows/image_classification_review.asl.json — as ``DefinitionString``, their ``${Name}``
placeholders left in and filled by CloudFormation from ``DefinitionSubstitutions`` (see
:func:`visiongate.deploy.resources.state_machine`). Every placeholder must be a key of that
map; the builder refuses a definition that uses any other (:func:`check_placeholders`).

The function table comes from the same settings the local engine uses: each placeholder in
``settings.substitutions`` names a function in ``settings.functions``, whose
``module:handler`` becomes the Lambda handler ``module.handler``. The review variant adds a
fourth function, ``request_review`` (:func:`review_spec`), under the ``ReviewStateMachine``
condition.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from visiongate.config import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_INLINE_IMAGE_BYTES,
    DEFAULT_THRESHOLD,
    WORKFLOWS_DIR,
    Settings,
)
from visiongate.deploy import iam, resources
from visiongate.deploy.errors import DefinitionError, DeployError
from visiongate.deploy.iam import Json, ref
from visiongate.deploy.resources import FunctionSpec

BATCH_DEFINITION = WORKFLOWS_DIR / "image_classification_batch.asl.json"
REVIEW_DEFINITION = WORKFLOWS_DIR / "image_classification_review.asl.json"
STATE_MACHINE_NAME = "${AWS::StackName}-image-classification"
BATCH_STATE_MACHINE_NAME = "${AWS::StackName}-image-classification-batch"
REVIEW_STATE_MACHINE_NAME = "${AWS::StackName}-image-classification-review"

# The review definition's fourth function (as visiongate.monitor.review.REVIEW_FUNCTIONS /
# REVIEW_SUBSTITUTIONS give it to the local engine; settings.functions may override the target).
REVIEW_FUNCTION = "request_review"
REVIEW_PLACEHOLDER = "RequestReviewFunctionName"
REVIEW_HANDLER = "visiongate.functions.request_review:handler"

# What each function's code touches, which decides its IAM role and its timeout (seconds).
FUNCTION_NEEDS: dict[str, dict[str, Any]] = {
    "serialize_image": {"read_images": True, "invoke_endpoint": False, "timeout": 30},
    "classify": {"read_images": True, "invoke_endpoint": True, "timeout": 60},
    "filter_confidence": {"read_images": False, "invoke_endpoint": False, "timeout": 10},
    # Writes reviews/pending/<id>.json and returns; never reads the image.
    "request_review": {
        "read_images": False,
        "invoke_endpoint": False,
        "write_reviews": True,
        "timeout": 30,
    },
}

_BOOL = {"Type": "String", "AllowedValues": ["true", "false"]}
_LOG_RETENTION = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]

PARAMETERS: dict[str, Json] = {
    "ImagesBucketName": {
        "Type": "String",
        "Description": "Bucket holding the images (created by the stack when CreateImagesBucket)",
        "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    },
    "CreateImagesBucket": {
        **_BOOL,
        "Default": "true",
        "Description": "Create the images bucket (with EventBridge notifications on). "
        "If false, the bucket must exist; enable its EventBridge notifications yourself "
        "to use EnableS3Trigger.",
    },
    "ImagesPrefix": {
        "Type": "String",
        "Default": "",
        "Description": "Key prefix of the images the functions may read (empty: whole bucket)",
        "AllowedPattern": "^[^*?]*$",
    },
    "ArtifactBucket": {
        "Type": "String",
        "Description": "Bucket with the Lambda code and model.tar.gz; also receives data "
        "capture and batch results",
    },
    "LambdaCodeKey": {"Type": "String", "Description": "S3 key of the Lambda zip"},
    "ModelDataKey": {"Type": "String", "Description": "S3 key of model.tar.gz"},
    "ImageUri": {
        "Type": "String",
        "Description": "ECR image URI of the visiongate serving container",
        "MinLength": 1,
    },
    "ImageRepositoryArn": {
        "Type": "String",
        "Description": "ARN of the ECR repository of ImageUri (the endpoint may pull only it)",
        "AllowedPattern": "^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/.+$",
    },
    "EndpointName": {
        "Type": "String",
        "Default": DEFAULT_ENDPOINT_NAME,
        "AllowedPattern": "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$",
    },
    "InstanceType": {"Type": "String", "Default": "ml.m5.large"},
    "InstanceCount": {"Type": "Number", "Default": 1, "MinValue": 1},
    "EnableAutoScaling": {**_BOOL, "Default": "true"},
    "MaxInstanceCount": {"Type": "Number", "Default": 4, "MinValue": 1},
    "InvocationsPerInstanceTarget": {
        "Type": "Number",
        "Default": 3000,
        "MinValue": 1,
        "Description": "Target SageMakerVariantInvocationsPerInstance (requests per instance "
        "per minute) for autoscaling",
    },
    "Threshold": {"Type": "Number", "Default": DEFAULT_THRESHOLD, "MinValue": 0, "MaxValue": 1},
    "MaxInlineImageBytes": {
        "Type": "Number",
        "Default": DEFAULT_MAX_INLINE_IMAGE_BYTES,
        "MinValue": 0,
        "Description": "Base64 images longer than this travel by reference, keeping the state "
        "payload under Step Functions' 262,144-byte limit",
    },
    "MaxImageBytes": {"Type": "Number", "Default": DEFAULT_MAX_IMAGE_BYTES, "MinValue": 1},
    "LambdaMemorySize": {"Type": "Number", "Default": 256, "MinValue": 128, "MaxValue": 10240},
    "LogLevel": {
        "Type": "String",
        "Default": "ERROR",
        "AllowedValues": ["ALL", "ERROR", "FATAL", "OFF"],
    },
    "LogIncludeExecutionData": {**_BOOL, "Default": "false"},
    "LogRetentionDays": {"Type": "Number", "Default": 30, "AllowedValues": _LOG_RETENTION},
    "CapturePrefix": {
        "Type": "String",
        "Default": "datacapture",
        "AllowedPattern": "^[A-Za-z0-9!_.*'()/-]+[^/]$",
    },
    "CapturePercent": {"Type": "Number", "Default": 100, "MinValue": 0, "MaxValue": 100},
    "ResultsPrefix": {
        "Type": "String",
        "Default": "batch-results",
        "AllowedPattern": "^[^*?]+[^/]$",
    },
    "EnableS3Trigger": {**_BOOL, "Default": "false"},
    "EnableBatchStateMachine": {**_BOOL, "Default": "true"},
    "EnableReviewStateMachine": {
        **_BOOL,
        "Default": "false",
        "Description": "Add the human review variant: a state machine that sends images "
        "below the threshold to a person (.waitForTaskToken) and its request_review function",
    },
    "ReviewBucketName": {
        "Type": "String",
        "Default": "",
        "Description": "Existing bucket for pending reviews (reviews/pending/); empty: the "
        "images bucket",
        "AllowedPattern": "^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    },
    "FailedExecutionsAlarmThreshold": {"Type": "Number", "Default": 10, "MinValue": 1},
    "AlarmTopicArn": {
        "Type": "String",
        "Default": "",
        "Description": "SNS topic for alarms (optional)",
    },
}

CONDITIONS: dict[str, Json] = {
    "CreateImagesBucket": {"Fn::Equals": [ref("CreateImagesBucket"), "true"]},
    "S3Trigger": {"Fn::Equals": [ref("EnableS3Trigger"), "true"]},
    "BatchStateMachine": {"Fn::Equals": [ref("EnableBatchStateMachine"), "true"]},
    "ReviewStateMachine": {"Fn::Equals": [ref("EnableReviewStateMachine"), "true"]},
    "HasReviewBucket": {"Fn::Not": [{"Fn::Equals": [ref("ReviewBucketName"), ""]}]},
    "AutoScaling": {"Fn::Equals": [ref("EnableAutoScaling"), "true"]},
    "IncludeExecutionData": {"Fn::Equals": [ref("LogIncludeExecutionData"), "true"]},
    "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [ref("AlarmTopicArn"), ""]}]},
}

_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def _spec(
    placeholder: str, key: str, target: str | None, condition: str | None = None
) -> FunctionSpec:
    if target is None or ":" not in target:
        raise DefinitionError(
            f"placeholder ${{{placeholder}}} names function {key!r}, which has no "
            "module:handler in settings.functions",
            hint="add it under [functions] in visiongate.toml",
        )
    module, attribute = target.split(":", 1)
    if not module.startswith("visiongate.functions."):
        raise DefinitionError(
            f"function {key!r} is {target}; only visiongate.functions.* is packaged for Lambda"
        )
    needs = FUNCTION_NEEDS.get(key)
    if needs is None:
        raise DefinitionError(
            f"function {key!r} has no IAM permissions defined for AWS",
            hint=f"known functions: {', '.join(FUNCTION_NEEDS)}",
        )
    logical_id = "".join(part.capitalize() for part in key.split("_")) + "Function"
    return FunctionSpec(
        key=key,
        logical_id=logical_id,
        placeholder=placeholder,
        handler=f"{module}.{attribute}",
        timeout=needs["timeout"],
        read_images=needs["read_images"],
        invoke_endpoint=needs["invoke_endpoint"],
        write_reviews=needs.get("write_reviews", False),
        condition=condition,
    )


def function_specs(settings: Settings) -> list[FunctionSpec]:
    """The Lambda functions the definition's placeholders name, in placeholder order."""
    return [
        _spec(placeholder, key, settings.functions.get(key))
        for placeholder, key in settings.substitutions.items()
    ]


def review_spec(settings: Settings) -> FunctionSpec:
    """The review variant's ``request_review`` function (created under ReviewStateMachine)."""
    target = settings.functions.get(REVIEW_FUNCTION, REVIEW_HANDLER)
    return _spec(REVIEW_PLACEHOLDER, REVIEW_FUNCTION, target, condition="ReviewStateMachine")


def read_definition(path: Path) -> str:
    """The definition's text, checked to be a JSON object with States."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(
            f"cannot read workflow definition {path}: {exc.strerror}",
            hint="check settings.definition (VISIONGATE_DEFINITION)",
        ) from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("States"), dict):
        raise DefinitionError(f"{path} is not an Amazon States Language definition (no States)")
    return text


def check_placeholders(path: Path, text: str, known: set[str]) -> None:
    """Every ``${Name}`` must be a key of the state machine's ``DefinitionSubstitutions``:
    one left unfilled would reach Step Functions as literal text (an invalid ARN, a wrong
    bucket) instead of failing here."""
    unknown = sorted(set(_PLACEHOLDER.findall(text)) - known)
    if unknown:
        raise DefinitionError(
            f"{path} uses placeholders the template cannot fill: "
            + ", ".join(f"${{{name}}}" for name in unknown),
            hint=f"known placeholders: {', '.join(sorted(known))}",
        )


def _parameters(defaults: dict[str, Any] | None) -> dict[str, Json]:
    parameters = copy.deepcopy(PARAMETERS)
    for key, value in (defaults or {}).items():
        if key not in parameters:
            raise DeployError(
                f"unknown template parameter {key!r}",
                hint=f"known parameters: {', '.join(PARAMETERS)}",
            )
        parameters[key]["Default"] = value
    return parameters


def build_template(
    settings: Settings,
    *,
    defaults: dict[str, Any] | None = None,
    batch_definition: Path = BATCH_DEFINITION,
    review_definition: Path = REVIEW_DEFINITION,
) -> Json:
    """The whole stack as a CloudFormation template dict."""
    specs = function_specs(settings)
    function_ids = [spec.logical_id for spec in specs]
    review_function = review_spec(settings)
    # DefinitionSubstitutions of the two state machines: placeholder -> value CloudFormation
    # resolves, see
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html
    function_arns = {spec.placeholder: iam.get_arn(spec.logical_id) for spec in specs}
    batch_substitutions = {
        **function_arns,
        "ImagesBucketName": ref("ImagesBucketName"),
        "ImagesPrefix": ref("ImagesPrefix"),
        "ArtifactBucket": ref("ArtifactBucket"),
        "ResultsPrefix": ref("ResultsPrefix"),
    }
    definition = read_definition(settings.definition)
    check_placeholders(settings.definition, definition, set(function_arns))
    batch = read_definition(batch_definition)
    check_placeholders(batch_definition, batch, set(batch_substitutions))
    review_substitutions = {
        **function_arns,
        review_function.placeholder: iam.get_arn(review_function.logical_id),
    }
    review = read_definition(review_definition)
    check_placeholders(review_definition, review, set(review_substitutions))

    stack: dict[str, Json] = {"ImagesBucket": resources.images_bucket()}
    for spec in [*specs, review_function]:
        stack[spec.log_group_id] = resources.lambda_log_group(spec)
        stack[spec.role_id] = iam.lambda_role(
            spec.log_group_id,
            read_images=spec.read_images,
            invoke_endpoint=spec.invoke_endpoint,
            write_reviews=spec.write_reviews,
            condition=spec.condition,
        )
        stack[spec.logical_id] = resources.lambda_function(spec)
    stack["StateMachineLogGroup"] = resources.state_machine_log_group("image-classification")
    stack["StateMachineRole"] = iam.state_machine_role(function_ids)
    stack["StateMachine"] = resources.state_machine(
        STATE_MACHINE_NAME, definition, function_arns, "StateMachineRole", "StateMachineLogGroup"
    )
    stack["BatchStateMachineLogGroup"] = resources.state_machine_log_group(
        "image-classification-batch", "BatchStateMachine"
    )
    stack["BatchStateMachineRole"] = iam.batch_state_machine_role(
        function_ids, BATCH_STATE_MACHINE_NAME
    )
    stack["BatchStateMachine"] = resources.state_machine(
        BATCH_STATE_MACHINE_NAME,
        batch,
        batch_substitutions,
        "BatchStateMachineRole",
        "BatchStateMachineLogGroup",
        condition="BatchStateMachine",
    )
    stack["ReviewStateMachineLogGroup"] = resources.state_machine_log_group(
        "image-classification-review", "ReviewStateMachine"
    )
    stack["ReviewStateMachineRole"] = iam.state_machine_role(
        [*function_ids, review_function.logical_id], condition="ReviewStateMachine"
    )
    stack["ReviewStateMachine"] = resources.state_machine(
        REVIEW_STATE_MACHINE_NAME,
        review,
        review_substitutions,
        "ReviewStateMachineRole",
        "ReviewStateMachineLogGroup",
        condition="ReviewStateMachine",
    )
    stack["EventsRole"] = iam.events_role("StateMachine")
    stack["S3TriggerRule"] = resources.s3_trigger_rule("StateMachine")
    stack.update(resources.endpoint_resources())
    stack.update(resources.alarms("StateMachine"))

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "visiongate: image classification with a confidence gate "
        "(Step Functions -> Lambda -> SageMaker endpoint)",
        "Parameters": _parameters(defaults),
        "Conditions": copy.deepcopy(CONDITIONS),
        "Resources": stack,
        "Outputs": _outputs([*specs, review_function]),
    }


def _outputs(specs: list[FunctionSpec]) -> dict[str, Json]:
    outputs: dict[str, Json] = {
        "StateMachineArn": {"Value": ref("StateMachine")},
        "BatchStateMachineArn": {
            "Value": ref("BatchStateMachine"),
            "Condition": "BatchStateMachine",
        },
        "EndpointName": {"Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}},
        "ImagesBucket": {"Value": ref("ImagesBucketName")},
        "ArtifactBucket": {"Value": ref("ArtifactBucket")},
        "CaptureUri": {"Value": iam.sub("s3://${ArtifactBucket}/${CapturePrefix}")},
        "ResultsUri": {"Value": iam.sub("s3://${ArtifactBucket}/${ResultsPrefix}")},
        "StateMachineLogGroup": {"Value": ref("StateMachineLogGroup")},
        "ReviewStateMachineArn": {
            "Value": ref("ReviewStateMachine"),
            "Condition": "ReviewStateMachine",
        },
        "ReviewBucket": {"Value": iam.review_bucket(), "Condition": "ReviewStateMachine"},
    }
    for spec in specs:
        outputs[spec.logical_id + "Name"] = {"Value": ref(spec.logical_id)}
        if spec.condition:
            outputs[spec.logical_id + "Name"]["Condition"] = spec.condition
    for name, output in outputs.items():
        output.setdefault("Description", _OUTPUT_DESCRIPTIONS.get(name, name))
    return outputs


_OUTPUT_DESCRIPTIONS = {
    "StateMachineArn": "Start one execution per image here",
    "BatchStateMachineArn": "Distributed Map over an S3 prefix",
    "EndpointName": "SageMaker endpoint the classify function calls",
    "ImagesBucket": "Bucket the functions read images from",
    "CaptureUri": "Where SageMaker writes data capture ({endpoint}/AllTraffic/yyyy/mm/dd/hh/)",
    "ResultsUri": "Where batch runs write their results",
    "ReviewStateMachineArn": "Image classification with a human review queue",
    "ReviewBucket": "Where pending reviews wait (reviews/pending/); set REVIEW_BUCKET to it",
}


# --- text ----------------------------------------------------------------------------------


def render(template: Json, fmt: str = "yaml") -> str:
    """The template as YAML (long strings as literal blocks) or JSON."""
    if fmt == "json":
        return json.dumps(template, indent=2) + "\n"
    if fmt != "yaml":
        raise DeployError(f"unknown template format {fmt!r}", hint='use "yaml" or "json"')
    import yaml  # the [deploy] extra

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:  # CloudFormation rejects YAML aliases
            return True

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    return yaml.dump(template, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True)


def template_size(template: Json) -> int:
    """Bytes of the compact JSON body CloudFormation would receive."""
    return len(json.dumps(template, separators=(",", ":")).encode("utf-8"))
