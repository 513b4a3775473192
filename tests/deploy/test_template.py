"""The CloudFormation template: valid (cfn-lint), least privilege, the workflow embedded unchanged.

These tests read the template dict; parts moto's CloudFormation skips (alarms, autoscaling)
or ignores (bucket EventBridge notifications, logging configuration) are checked only here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from statelint.linter import Linter

from visiongate.config import load_settings
from visiongate.deploy.errors import DefinitionError, DeployError
from visiongate.deploy.template import (
    BATCH_DEFINITION,
    PARAMETERS,
    REVIEW_DEFINITION,
    build_template,
    function_specs,
    render,
    review_spec,
)

SWITCHES = [k for k, v in PARAMETERS.items() if v.get("AllowedValues") == ["true", "false"]]
REVIEW_IDS = {
    "RequestReviewFunctionLogGroup",
    "RequestReviewFunctionRole",
    "RequestReviewFunction",
    "ReviewStateMachineLogGroup",
    "ReviewStateMachineRole",
    "ReviewStateMachine",
}
# Actions AWS does not let you scope to a resource, so "*" is the documented form.
STAR_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return build_template(load_settings(env={}))


def statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    (policy,) = template["Resources"][role_id]["Properties"]["Policies"]
    return policy["PolicyDocument"]["Statement"]


def actions_of(template: dict[str, Any], role_id: str) -> set[str]:
    return {a for s in statements(template, role_id) for a in s["Action"]}


def test_the_review_variant_is_an_option_that_defaults_to_off() -> None:
    assert "EnableReviewStateMachine" in SWITCHES
    assert PARAMETERS["EnableReviewStateMachine"]["Default"] == "false"


@pytest.mark.parametrize(
    ("switch", "fmt", "review_bucket"),
    [("true", "yaml", ""), ("false", "yaml", ""), ("true", "json", ""), ("true", "yaml", "rv-b")],
)
def test_cfn_lint_finds_nothing_with_every_option_on_or_off(
    switch: str, fmt: str, review_bucket: str
) -> None:
    import cfnlint.api

    defaults = {**dict.fromkeys(SWITCHES, switch), "ReviewBucketName": review_bucket}
    template = build_template(load_settings(env={}), defaults=defaults)
    matches = cfnlint.api.lint(render(template, fmt), regions=["us-east-1"])
    assert [str(m) for m in matches] == []


def test_yaml_round_trips_without_aliases(template: dict[str, Any]) -> None:
    text = render(template, "yaml")
    assert "&id" not in text and "*id" not in text  # CloudFormation rejects YAML aliases
    assert yaml.safe_load(text) == template


def test_every_ref_and_condition_is_defined(template: dict[str, Any]) -> None:
    refs, conditions = set(), set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Ref" in node:
                refs.add(node["Ref"])
            if "Fn::If" in node:
                conditions.add(node["Fn::If"][0])
            if isinstance(node.get("Condition"), str):
                conditions.add(node["Condition"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(template["Resources"])
    walk(template["Outputs"])
    known = set(template["Parameters"]) | set(template["Resources"]) | {"AWS::NoValue"}
    assert refs <= known
    assert conditions == set(template["Conditions"])


def test_lambda_functions_run_the_packaged_handlers(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    functions = {
        k: v["Properties"] for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"
    }
    assert {p["Handler"] for p in functions.values()} == {
        "visiongate.functions.serialize_image.handler",
        "visiongate.functions.classify.handler",
        "visiongate.functions.filter_confidence.handler",
        "visiongate.functions.request_review.handler",
    }
    for props in functions.values():
        assert props["Runtime"] == "python3.12"
        assert props["Code"] == {
            "S3Bucket": {"Ref": "ArtifactBucket"},
            "S3Key": {"Ref": "LambdaCodeKey"},
        }
        env = props["Environment"]["Variables"]
        assert env["VISIONGATE_STORE_BACKEND"] == "s3"
        assert env["THRESHOLD"] == {"Ref": "Threshold"}
        assert env["MAX_INLINE_IMAGE_BYTES"] == {"Ref": "MaxInlineImageBytes"}
        assert env["MAX_IMAGE_BYTES"] == {"Ref": "MaxImageBytes"}
    # Only classify talks to the endpoint, so only it waits for the endpoint to exist.
    assert functions["ClassifyFunction"]["Environment"]["Variables"]["ENDPOINT"] == {
        "Fn::GetAtt": ["Endpoint", "EndpointName"]
    }
    assert "ENDPOINT" not in functions["SerializeImageFunction"]["Environment"]["Variables"]
    # Only request_review writes reviews; it writes them to ReviewBucketName or the images bucket.
    review_bucket = {
        "Fn::If": ["HasReviewBucket", {"Ref": "ReviewBucketName"}, {"Ref": "ImagesBucketName"}]
    }
    assert functions["RequestReviewFunction"]["Environment"]["Variables"]["REVIEW_BUCKET"] == (
        review_bucket
    )
    assert [
        k for k, p in functions.items() if "REVIEW_BUCKET" in p["Environment"]["Variables"]
    ] == ["RequestReviewFunction"]
    assert "ENDPOINT" not in functions["RequestReviewFunction"]["Environment"]["Variables"]


def test_parameter_defaults_match_local_settings(template: dict[str, Any]) -> None:
    settings = load_settings(env={})
    params = template["Parameters"]
    assert params["Threshold"]["Default"] == settings.threshold
    assert params["MaxImageBytes"]["Default"] == settings.max_image_bytes
    assert params["MaxInlineImageBytes"]["Default"] == settings.max_inline_image_bytes
    assert params["EndpointName"]["Default"] == settings.endpoint_name
    assert params["LogLevel"]["AllowedValues"] == ["ALL", "ERROR", "FATAL", "OFF"]


def test_function_roles_are_least_privilege(template: dict[str, Any]) -> None:
    images = {"Fn::Sub": "arn:${AWS::Partition}:s3:::${ImagesBucketName}/${ImagesPrefix}*"}
    serialize = statements(template, "SerializeImageFunctionRole")
    assert serialize == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [{"Fn::GetAtt": ["SerializeImageFunctionLogGroup", "Arn"]}],
        },
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [images]},
    ]
    classify = statements(template, "ClassifyFunctionRole")
    assert {
        "Effect": "Allow",
        "Action": ["sagemaker:InvokeEndpoint"],
        "Resource": [{"Ref": "Endpoint"}],
    } in classify
    assert {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [images]} in classify
    assert actions_of(template, "ClassifyFunctionRole") == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "sagemaker:InvokeEndpoint",
    }
    assert actions_of(template, "FilterConfidenceFunctionRole") == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_request_review_may_only_put_pending_reviews_and_write_its_own_logs(
    template: dict[str, Any],
) -> None:
    """request_review writes reviews/pending/<id>.json (PutObject) and reads nothing."""
    assert statements(template, "RequestReviewFunctionRole") == [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [{"Fn::GetAtt": ["RequestReviewFunctionLogGroup", "Arn"]}],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [
                {
                    "Fn::Sub": [
                        "arn:${AWS::Partition}:s3:::${Bucket}/reviews/pending/*",
                        {
                            "Bucket": {
                                "Fn::If": [
                                    "HasReviewBucket",
                                    {"Ref": "ReviewBucketName"},
                                    {"Ref": "ImagesBucketName"},
                                ]
                            }
                        },
                    ]
                }
            ],
        },
    ]
    from visiongate.functions.request_review import PENDING_PREFIX

    assert PENDING_PREFIX == "reviews/pending/"  # the prefix the policy names


def test_every_review_resource_exists_only_when_the_review_variant_is_on(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    conditional = {k for k, v in resources.items() if v.get("Condition") == "ReviewStateMachine"}
    assert conditional == REVIEW_IDS
    assert template["Conditions"]["ReviewStateMachine"] == {
        "Fn::Equals": [{"Ref": "EnableReviewStateMachine"}, "true"]
    }
    outputs = template["Outputs"]
    for name in ("ReviewStateMachineArn", "ReviewBucket", "RequestReviewFunctionName"):
        assert outputs[name]["Condition"] == "ReviewStateMachine", name
    assert outputs["ReviewStateMachineArn"]["Value"] == {"Ref": "ReviewStateMachine"}
    # Nothing outside the variant refers to it (a Ref to an absent resource fails the stack).
    others = json.dumps({k: v for k, v in resources.items() if k not in REVIEW_IDS})
    assert not any(f'"{i}"' in others for i in REVIEW_IDS)


def test_state_machine_role_may_only_invoke_the_three_functions(template: dict[str, Any]) -> None:
    invoke, logs = statements(template, "StateMachineRole")
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    ids = ["SerializeImageFunction", "ClassifyFunction", "FilterConfidenceFunction"]
    assert invoke["Resource"] == [
        r for i in ids for r in ({"Fn::GetAtt": [i, "Arn"]}, {"Fn::Sub": f"${{{i}.Arn}}:*"})
    ]
    # https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html: delivery actions on "*".
    assert logs["Resource"] == "*" and set(logs["Action"]) <= STAR_ACTIONS


def test_review_state_machine_role_may_only_invoke_the_four_functions(
    template: dict[str, Any],
) -> None:
    invoke, logs = statements(template, "ReviewStateMachineRole")
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    ids = [
        "SerializeImageFunction",
        "ClassifyFunction",
        "FilterConfidenceFunction",
        "RequestReviewFunction",
    ]
    assert invoke["Resource"] == [
        r for i in ids for r in ({"Fn::GetAtt": [i, "Arn"]}, {"Fn::Sub": f"${{{i}.Arn}}:*"})
    ]
    assert logs == statements(template, "StateMachineRole")[1]
    trust = template["Resources"]["ReviewStateMachineRole"]["Properties"]
    assert trust["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "states.amazonaws.com"
    }


def test_no_wildcard_resource_outside_the_documented_actions(template: dict[str, Any]) -> None:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in statements(template, logical_id):
            assert statement["Effect"] == "Allow"
            if statement["Resource"] == "*":
                assert set(statement["Action"]) <= STAR_ACTIONS, logical_id
            assert not any(a.endswith(":*") or a == "*" for a in statement["Action"]), logical_id


def test_batch_role_has_what_distributed_map_needs(template: dict[str, Any]) -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html"""
    by_action = {a: s for s in statements(template, "BatchStateMachineRole") for a in s["Action"]}
    name = "${AWS::StackName}-image-classification-batch"
    assert by_action["states:StartExecution"]["Resource"] == [
        {
            "Fn::Sub": f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{name}"
        }
    ]
    assert set(by_action) >= {
        "lambda:InvokeFunction",
        "states:DescribeExecution",
        "states:StopExecution",
        "s3:ListBucket",
        "s3:PutObject",
    }
    assert by_action["s3:ListBucket"]["Condition"] == {
        "StringLike": {"s3:prefix": [{"Fn::Sub": "${ImagesPrefix}*"}]}
    }
    assert template["Resources"]["BatchStateMachine"]["Properties"]["StateMachineName"] == {
        "Fn::Sub": name
    }


def test_state_machine_embeds_the_definition_file_unchanged_with_definition_substitutions(
    template: dict[str, Any],
) -> None:
    """The documented form: DefinitionString with ${Name} placeholders, DefinitionSubstitutions
    mapping each name to a resolved value (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html)."""
    settings = load_settings(env={})
    props = template["Resources"]["StateMachine"]["Properties"]
    text = props["DefinitionString"]
    assert text == settings.definition.read_text(encoding="utf-8")  # a plain string, no Fn::Sub
    assert props["DefinitionSubstitutions"] == {
        spec.placeholder: {"Fn::GetAtt": [spec.logical_id, "Arn"]}
        for spec in function_specs(settings)
    }
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(props["DefinitionSubstitutions"])
    assert props["StateMachineType"] == "STANDARD"
    assert props["LoggingConfiguration"] == {
        "Level": {"Ref": "LogLevel"},
        "IncludeExecutionData": {"Fn::If": ["IncludeExecutionData", True, False]},
        "Destinations": [
            {
                "CloudWatchLogsLogGroup": {
                    "LogGroupArn": {"Fn::GetAtt": ["StateMachineLogGroup", "Arn"]}
                }
            }
        ],
    }


def substituted(text: str, values: dict[str, str]) -> dict[str, Any]:
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text))


SAMPLE = {
    "SerializeImageFunctionName": "arn:aws:lambda:us-east-1:123456789012:function:s",
    "ClassifyFunctionName": "arn:aws:lambda:us-east-1:123456789012:function:c",
    "FilterConfidenceFunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f",
    "RequestReviewFunctionName": "arn:aws:lambda:us-east-1:123456789012:function:r",
    "ImagesBucketName": "images",
    "ImagesPrefix": "incoming/",
    "ArtifactBucket": "artifacts",
    "ResultsPrefix": "batch-results",
}


def test_batch_state_machine_substitutes_functions_buckets_and_prefixes(
    template: dict[str, Any],
) -> None:
    props = template["Resources"]["BatchStateMachine"]["Properties"]
    assert props["DefinitionString"] == BATCH_DEFINITION.read_text(encoding="utf-8")
    functions = template["Resources"]["StateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert props["DefinitionSubstitutions"] == {
        **functions,
        "ImagesBucketName": {"Ref": "ImagesBucketName"},
        "ImagesPrefix": {"Ref": "ImagesPrefix"},
        "ArtifactBucket": {"Ref": "ArtifactBucket"},
        "ResultsPrefix": {"Ref": "ResultsPrefix"},
    }
    assert set(re.findall(r"\$\{(\w+)\}", props["DefinitionString"])) == set(
        props["DefinitionSubstitutions"]
    )


def test_review_state_machine_embeds_the_review_definition_with_four_functions(
    template: dict[str, Any],
) -> None:
    """A second STANDARD machine: .waitForTaskToken may wait up to a year, which Express
    workflows do not support (https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token)."""
    props = template["Resources"]["ReviewStateMachine"]["Properties"]
    assert props["DefinitionString"] == REVIEW_DEFINITION.read_text(encoding="utf-8")
    functions = template["Resources"]["StateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert props["DefinitionSubstitutions"] == {
        **functions,
        "RequestReviewFunctionName": {"Fn::GetAtt": ["RequestReviewFunction", "Arn"]},
    }
    assert set(re.findall(r"\$\{(\w+)\}", props["DefinitionString"])) == set(
        props["DefinitionSubstitutions"]
    )
    assert props["StateMachineType"] == "STANDARD"
    assert props["StateMachineName"] == {"Fn::Sub": "${AWS::StackName}-image-classification-review"}
    assert props["RoleArn"] == {"Fn::GetAtt": ["ReviewStateMachineRole", "Arn"]}
    assert props["LoggingConfiguration"]["Destinations"] == [
        {
            "CloudWatchLogsLogGroup": {
                "LogGroupArn": {"Fn::GetAtt": ["ReviewStateMachineLogGroup", "Arn"]}
            }
        }
    ]
    human = json.loads(props["DefinitionString"])["States"]["Human review"]
    assert human["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert review_spec(load_settings(env={})).handler == (
        "visiongate.functions.request_review.handler"
    )


def test_no_state_machine_uses_fn_sub_on_its_definition(template: dict[str, Any]) -> None:
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            assert isinstance(resource["Properties"]["DefinitionString"], str)
            assert "DefinitionSubstitutions" in resource["Properties"]


def test_both_definitions_are_valid_asl_after_substitution(template: dict[str, Any]) -> None:
    for logical_id in ("StateMachine", "BatchStateMachine", "ReviewStateMachine"):
        props = template["Resources"][logical_id]["Properties"]
        assert set(props["DefinitionSubstitutions"]) <= set(SAMPLE)
        assert Linter.validate(substituted(props["DefinitionString"], SAMPLE)) == [], logical_id


def test_batch_definition_is_a_distributed_map_over_the_same_three_steps() -> None:
    main = json.loads(load_settings(env={}).definition.read_text())
    batch = json.loads(BATCH_DEFINITION.read_text())
    (map_state,) = [s for s in batch["States"].values() if s["Type"] == "Map"]
    assert map_state["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "${ImagesBucketName}", "Prefix.$": "$.prefix"},
    }
    processor = map_state["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"}
    assert "ToleratedFailurePercentagePath" in map_state and "MaxConcurrencyPath" in map_state
    assert map_state["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"

    def core(state: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in state.items() if k not in {"Next", "End", "Catch", "Comment"}}

    for name, state in main["States"].items():
        assert core(processor["States"][name]) == core(state), (
            f"{name} drifted from the main definition"
        )
    gate = processor["States"]["Valid confidence"]["Catch"]
    assert gate[0]["ErrorEquals"] == ["THRESHOLD_CONFIDENCE_NOT_MET"]


def test_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    settings = load_settings(env={})
    definition = json.loads(settings.definition.read_text())
    first = definition["StartAt"]
    definition["States"][first]["Parameters"]["FunctionName"] = "${SomethingElse}"
    path = tmp_path / "wf.asl.json"
    path.write_text(json.dumps(definition))
    with pytest.raises(DefinitionError, match=r"\$\{SomethingElse\}"):
        build_template(settings.with_(definition=path))


def test_batch_placeholder_outside_its_substitutions_is_refused(tmp_path: Path) -> None:
    batch = json.loads(BATCH_DEFINITION.read_text())
    batch["States"]["Apply defaults"]["Parameters"]["prefix"] = "${CapturePrefix}"
    path = tmp_path / "batch.asl.json"
    path.write_text(json.dumps(batch))
    with pytest.raises(DefinitionError, match=r"\$\{CapturePrefix\}"):
        build_template(load_settings(env={}), batch_definition=path)


def test_review_placeholder_outside_its_substitutions_is_refused(tmp_path: Path) -> None:
    review = json.loads(REVIEW_DEFINITION.read_text())
    review["States"]["Human review"]["Parameters"]["FunctionName"] = "${ReviewFunctionArn}"
    path = tmp_path / "review.asl.json"
    path.write_text(json.dumps(review))
    with pytest.raises(DefinitionError, match=r"\$\{ReviewFunctionArn\}"):
        build_template(load_settings(env={}), review_definition=path)


def test_definition_that_is_not_asl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "wf.asl.json"
    path.write_text("{not json")
    with pytest.raises(DefinitionError, match="not valid JSON"):
        build_template(load_settings(env={}).with_(definition=path))
    path.write_text("[]")
    with pytest.raises(DefinitionError, match="no States"):
        build_template(load_settings(env={}).with_(definition=path))


def test_function_outside_the_package_is_refused() -> None:
    settings = load_settings(env={})
    functions = {**settings.functions, "classify": "os:system"}
    with pytest.raises(DefinitionError, match="only visiongate.functions"):
        build_template(settings.with_(functions=functions))


def test_s3_trigger_turns_object_created_events_into_workflow_input(
    template: dict[str, Any],
) -> None:
    rule = template["Resources"]["S3TriggerRule"]
    assert rule["Condition"] == "S3Trigger"
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "StateMachine"}
    transformer = target["InputTransformer"]
    # The S3 event from https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
    event = {"detail": {"bucket": {"name": "my-images"}, "object": {"key": "cats/a b.png"}}}

    def resolve(path: str) -> Any:
        node: Any = event
        for part in path.removeprefix("$.").split("."):
            node = node[part]
        return node

    rendered = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        rendered = rendered.replace(f"<{name}>", json.dumps(resolve(path)))
    assert json.loads(rendered) == {"s3_bucket": "my-images", "s3_key": "cats/a b.png"}
    assert statements(template, "EventsRole") == [
        {
            "Effect": "Allow",
            "Action": ["states:StartExecution"],
            "Resource": [{"Ref": "StateMachine"}],
        }
    ]
    bucket = template["Resources"]["ImagesBucket"]
    assert bucket["Condition"] == "CreateImagesBucket" and bucket["DeletionPolicy"] == "Retain"
    assert bucket["Properties"]["NotificationConfiguration"]["Fn::If"][1] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }


def test_endpoint_captures_data_and_scales_on_invocations(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    config = resources["EndpointConfig"]["Properties"]
    assert config["DataCaptureConfig"]["EnableCapture"] is True
    assert config["DataCaptureConfig"]["CaptureOptions"] == [
        {"CaptureMode": "Input"},
        {"CaptureMode": "Output"},
    ]
    assert resources["Model"]["Properties"]["PrimaryContainer"]["Image"] == {"Ref": "ImageUri"}
    policy = resources["EndpointScalingPolicy"]["Properties"][
        "TargetTrackingScalingPolicyConfiguration"
    ]
    assert (
        policy["PredefinedMetricSpecification"]["PredefinedMetricType"]
        == "SageMakerVariantInvocationsPerInstance"
    )
    assert resources["EndpointScalableTarget"]["Properties"]["ScalableDimension"] == (
        "sagemaker:variant:DesiredInstanceCount"
    )
    alarms = {
        r["Properties"]["MetricName"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert alarms["ExecutionsFailed"]["Namespace"] == "AWS/States"
    assert alarms["Invocation5XXErrors"]["Namespace"] == "AWS/SageMaker"


def test_outputs_name_what_the_cli_needs(template: dict[str, Any]) -> None:
    assert {
        "StateMachineArn",
        "BatchStateMachineArn",
        "EndpointName",
        "ImagesBucket",
        "CaptureUri",
    } <= set(template["Outputs"])
    assert template["Outputs"]["BatchStateMachineArn"]["Condition"] == "BatchStateMachine"
    assert template["Outputs"]["ReviewStateMachineArn"]["Condition"] == "ReviewStateMachine"


def test_defaults_override_parameters_and_unknown_ones_are_refused() -> None:
    settings = load_settings(env={})
    template = build_template(settings, defaults={"Threshold": 0.9, "LogLevel": "ALL"})
    assert template["Parameters"]["Threshold"]["Default"] == 0.9
    assert template["Parameters"]["LogLevel"]["Default"] == "ALL"
    assert PARAMETERS["Threshold"]["Default"] == settings.threshold  # the module table is untouched
    with pytest.raises(DeployError, match="unknown template parameter 'Nope'"):
        build_template(settings, defaults={"Nope": "1"})


def test_every_parameter_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    missing = [name for name in PARAMETERS if f"`{name}`" not in doc]
    assert missing == []


def test_template_is_not_mutated_between_builds() -> None:
    settings = load_settings(env={})
    first = build_template(settings)
    snapshot = copy.deepcopy(first)
    build_template(settings, defaults={"Threshold": 0.1})
    assert first == snapshot


def test_cost_table_matches_the_price_model() -> None:
    """docs/deploy.md's cost table is what visiongate.monitor.cost computes for its assumptions."""
    from visiongate.monitor.cost import estimate

    doc = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    table = doc[doc.index("| | 1,000 images | 1,000,000 images |") :].split("\n\n")[0]
    rows = {
        line.split("|")[1].strip(): [c.strip(" *") for c in line.split("|")[2:4]]
        for line in table.splitlines()[2:]
    }

    def money(value: float, small: bool) -> str:
        return (
            f"${value:.4f}"
            if small and value < 0.01
            else (f"${value:.3f}" if small else f"${value:,.2f}")
        )

    columns = []
    for n in (1_000, 1_000_000):
        e = estimate(
            n, transitions_per_execution=3, lambda_invocations_per_execution=3, lambda_ms=100,
            memory_mb=256, execution_ms=500, express_memory_mb=64, endpoint_hours=n / 100 / 3600,
        )  # fmt: skip
        lam, endpoint = e.shared[:2], e.shared[2]
        columns.append(
            {
                "standard": sum(x.cost for x in e.standard),
                "express": sum(x.cost for x in e.express),
                "lambda": sum(x.cost for x in lam),
                "endpoint": endpoint.cost,
                "total_standard": e.standard_total,
                "total_express": e.express_total,
            }
        )
    keys = {
        "standard": "Step Functions **Standard**",
        "express": "Step Functions **Express**",
        "lambda": "Lambda (",
        "endpoint": "SageMaker `ml.m5.large`",
        "total_standard": "**Total with Standard**",
        "total_express": "**Total with Express**",
    }
    for key, label in keys.items():
        (row,) = [cells for name, cells in rows.items() if name.startswith(label)]
        assert row[0] == money(columns[0][key], small=True), key
        assert row[1] == money(columns[1][key], small=False), key
