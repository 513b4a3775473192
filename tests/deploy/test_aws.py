"""`deploy aws` against moto's standalone server, through boto3 over HTTP.

moto's CloudFormation creates the Lambda functions, IAM roles, log groups, state machines,
S3 bucket, EventBridge rule and the SageMaker model / endpoint config / endpoint; it skips
``AWS::CloudWatch::Alarm`` and ``AWS::ApplicationAutoScaling::*`` (test_template.py checks
those) and ignores a bucket's EventBridge notification setting and state machine logging.
Functions are created, never invoked (that would need Docker).

The state machines' ``DefinitionSubstitutions`` are applied by this folder's ``moto_server``
(conftest.py), as AWS documents for the property; moto alone ignores them.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from rich.console import Console

from tests.deploy.conftest import ECR_IMAGE, make_model_dir
from visiongate.config import load_settings
from visiongate.deploy.aws import (
    CAPABILITIES,
    deploy,
    destroy,
    repository_arn,
    stack_outputs,
)
from visiongate.deploy.errors import (
    AWSRequestError,
    MissingImageUri,
    MissingModel,
    NoCredentialsError,
    StackNotFound,
)
from visiongate.deploy.package import build_lambda_zip
from visiongate.deploy.template import (
    BATCH_DEFINITION,
    PARAMETERS,
    REVIEW_DEFINITION,
    function_specs,
    review_spec,
)

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS::")


@pytest.fixture(scope="module")
def deployed(
    moto_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One stack with every option on, deployed once for the tests that read it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", moto_server)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        patch.delenv("AWS_PROFILE", raising=False)
        model = make_model_dir(tmp_path_factory.mktemp("deploy") / "model")
        result = deploy(
            "vgdeployed",
            settings=load_settings(env={}),
            model_dir=model,
            image_uri=ECR_IMAGE,
            parameters={
                "EnableS3Trigger": "true",
                "EnableReviewStateMachine": "true",
                "ImagesPrefix": "incoming/",
                "CapturePercent": "40",
            },
            console=Console(file=io.StringIO()),
            poll=0,
        )
        cfn = boto3.client("cloudformation")
        physical = {
            r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cfn.describe_stack_resources(StackName="vgdeployed")["StackResources"]
            if "LogicalResourceId" in r
        }
        parameters = {
            p["ParameterKey"]: p["ParameterValue"]
            for p in cfn.describe_stacks(StackName="vgdeployed")["Stacks"][0]["Parameters"]
        }
        yield {"result": result, "physical": physical, "parameters": parameters, "model": model}


def role_statements(role_name: str) -> list[dict[str, Any]]:
    iam = boto3.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    if isinstance(document, str):
        # moto's CloudFormation stores an inline policy given as an object as its Python
        # repr (real IAM returns the JSON document); read both.
        try:
            document = json.loads(document)
        except json.JSONDecodeError:
            document = ast.literal_eval(document)
    return document["Statement"]


def role_arn(role_name: str) -> str:
    return boto3.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]


def all_specs() -> list[Any]:
    """The three workflow functions and the review variant's request_review."""
    settings = load_settings(env={})
    return [*function_specs(settings), review_spec(settings)]


def function_arns(physical: dict[str, str]) -> dict[str, str]:
    """Placeholder -> deployed function ARN, for the four functions."""
    lam = boto3.client("lambda")
    return {
        spec.placeholder: lam.get_function(FunctionName=physical[spec.logical_id])["Configuration"][
            "FunctionArn"
        ]
        for spec in all_specs()
    }


def test_outputs_name_the_deployed_resources(aws: str, deployed: dict[str, Any]) -> None:
    outputs = deployed["result"].outputs
    assert deployed["result"].status == "CREATE_COMPLETE"
    assert stack_outputs("vgdeployed") == outputs
    assert outputs["StateMachineArn"].endswith(":stateMachine:vgdeployed-image-classification")
    assert outputs["BatchStateMachineArn"].endswith(
        ":stateMachine:vgdeployed-image-classification-batch"
    )
    assert outputs["ReviewStateMachineArn"].endswith(
        ":stateMachine:vgdeployed-image-classification-review"
    )
    assert outputs["ImagesBucket"] == "vgdeployed-images-123456789012-us-east-1"
    assert outputs["ReviewBucket"] == outputs["ImagesBucket"]  # ReviewBucketName left empty
    assert outputs["CaptureUri"] == f"s3://{outputs['ArtifactBucket']}/datacapture"


def test_lambda_functions_run_the_uploaded_zip(aws: str, deployed: dict[str, Any]) -> None:
    lam = boto3.client("lambda")
    code = build_lambda_zip()
    # Lambda reports CodeSha256 as the base64 of the package's SHA-256 digest.
    sha = base64.b64encode(hashlib.sha256(code.data).digest()).decode()
    endpoint = deployed["result"].outputs["EndpointName"]
    images = deployed["result"].outputs["ImagesBucket"]
    for spec in all_specs():
        config = lam.get_function(FunctionName=deployed["physical"][spec.logical_id])[
            "Configuration"
        ]
        assert config["Runtime"] == "python3.12"
        assert config["Handler"] == spec.handler
        assert config["CodeSha256"] == sha
        assert config["Role"] == role_arn(deployed["physical"][spec.role_id])
        env = {k: str(v) for k, v in config["Environment"]["Variables"].items()}
        assert env["VISIONGATE_STORE_BACKEND"] == "s3"
        assert float(env["THRESHOLD"]) == 0.75
        assert env.get("ENDPOINT") == (endpoint if spec.key == "classify" else None)
        assert env.get("REVIEW_BUCKET") == (images if spec.key == "request_review" else None)
    bucket = deployed["parameters"]["ArtifactBucket"]
    body = boto3.client("s3").get_object(
        Bucket=bucket, Key=deployed["parameters"]["LambdaCodeKey"]
    )["Body"]
    assert body.read() == code.data


def test_function_roles_allow_only_their_own_needs(aws: str, deployed: dict[str, Any]) -> None:
    physical = deployed["physical"]
    logs = boto3.client("logs")
    images = "arn:aws:s3:::vgdeployed-images-123456789012-us-east-1/incoming/*"
    endpoint_arn = boto3.client("sagemaker").describe_endpoint(
        EndpointName=deployed["result"].outputs["EndpointName"]
    )["EndpointArn"]

    def log_group_arn(logical_id: str) -> str:
        (group,) = logs.describe_log_groups(logGroupNamePrefix=physical[logical_id])["logGroups"]
        return group["arn"].removesuffix(":*")

    def as_set(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
        # A log group's ARN ends in ":*" (its streams) in AWS; moto's Fn::GetAtt drops it.
        return {
            (a, r.removesuffix(":*") if a.startswith("logs:") else r)
            for s in statements
            for a in s["Action"]
            for r in s["Resource"]
        }

    own_logs = {
        ("logs:CreateLogStream", log_group_arn("SerializeImageFunctionLogGroup")),
        ("logs:PutLogEvents", log_group_arn("SerializeImageFunctionLogGroup")),
    }
    assert as_set(role_statements(physical["SerializeImageFunctionRole"])) == own_logs | {
        ("s3:GetObject", images)
    }
    classify_logs = log_group_arn("ClassifyFunctionLogGroup")
    assert as_set(role_statements(physical["ClassifyFunctionRole"])) == {
        ("logs:CreateLogStream", classify_logs),
        ("logs:PutLogEvents", classify_logs),
        ("s3:GetObject", images),
        ("sagemaker:InvokeEndpoint", endpoint_arn),
    }
    filter_logs = log_group_arn("FilterConfidenceFunctionLogGroup")
    assert as_set(role_statements(physical["FilterConfidenceFunctionRole"])) == {
        ("logs:CreateLogStream", filter_logs),
        ("logs:PutLogEvents", filter_logs),
    }
    review_logs = log_group_arn("RequestReviewFunctionLogGroup")
    assert as_set(role_statements(physical["RequestReviewFunctionRole"])) == {
        ("logs:CreateLogStream", review_logs),
        ("logs:PutLogEvents", review_logs),
        ("s3:PutObject", "arn:aws:s3:::vgdeployed-images-123456789012-us-east-1/reviews/pending/*"),
    }
    trust = boto3.client("iam").get_role(RoleName=physical["ClassifyFunctionRole"])["Role"]
    principals = [s["Principal"]["Service"] for s in trust["AssumeRolePolicyDocument"]["Statement"]]
    assert principals == ["lambda.amazonaws.com"]


def test_state_machine_role_invokes_only_the_three_functions(
    aws: str, deployed: dict[str, Any]
) -> None:
    lam = boto3.client("lambda")
    arns = [
        lam.get_function(FunctionName=deployed["physical"][spec.logical_id])["Configuration"][
            "FunctionArn"
        ]
        for spec in function_specs(load_settings(env={}))
    ]
    statements = role_statements(deployed["physical"]["StateMachineRole"])
    invoke = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert len(invoke) == 1 and invoke[0]["Action"] == ["lambda:InvokeFunction"]
    assert sorted(invoke[0]["Resource"]) == sorted(arns + [f"{a}:*" for a in arns])
    others = [s for s in statements if s is not invoke[0]]
    assert all(
        s["Resource"] == "*" and all(a.startswith("logs:") for a in s["Action"]) for s in others
    )


def test_review_state_machine_role_invokes_only_the_four_functions(
    aws: str, deployed: dict[str, Any]
) -> None:
    arns = list(function_arns(deployed["physical"]).values())
    assert len(arns) == 4
    statements = role_statements(deployed["physical"]["ReviewStateMachineRole"])
    (invoke,) = [s for s in statements if "lambda:InvokeFunction" in s["Action"]]
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert sorted(invoke["Resource"]) == sorted(arns + [f"{a}:*" for a in arns])
    others = [s for s in statements if s is not invoke]
    assert others and all(
        s["Resource"] == "*" and all(a.startswith("logs:") for a in s["Action"]) for s in others
    )


def substitute(text: str, values: dict[str, str]) -> Any:
    return json.loads(re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text))


def test_state_machines_hold_the_definitions_with_function_arns(
    aws: str, deployed: dict[str, Any]
) -> None:
    settings = load_settings(env={})
    sfn, lam = boto3.client("stepfunctions"), boto3.client("lambda")
    arns = {
        spec.placeholder: lam.get_function(FunctionName=deployed["physical"][spec.logical_id])[
            "Configuration"
        ]["FunctionArn"]
        for spec in function_specs(settings)
    }
    outputs = deployed["result"].outputs
    machine = sfn.describe_state_machine(stateMachineArn=outputs["StateMachineArn"])
    assert "${" not in machine["definition"]
    assert json.loads(machine["definition"]) == substitute(settings.definition.read_text(), arns)
    assert machine["roleArn"] == role_arn(deployed["physical"]["StateMachineRole"])
    functions = {
        s["Parameters"]["FunctionName"]
        for s in json.loads(machine["definition"])["States"].values()
    }
    assert functions == set(arns.values())

    batch = sfn.describe_state_machine(stateMachineArn=outputs["BatchStateMachineArn"])
    assert "${" not in batch["definition"]
    params = deployed["parameters"]
    expected = substitute(
        BATCH_DEFINITION.read_text(),
        {
            **arns,
            "ImagesBucketName": params["ImagesBucketName"],
            "ImagesPrefix": "incoming/",
            "ArtifactBucket": params["ArtifactBucket"],
            "ResultsPrefix": "batch-results",
        },
    )
    assert json.loads(batch["definition"]) == expected


def test_review_state_machine_holds_the_review_definition_with_four_function_arns(
    aws: str, deployed: dict[str, Any]
) -> None:
    arns = function_arns(deployed["physical"])
    sfn = boto3.client("stepfunctions")
    review = sfn.describe_state_machine(
        stateMachineArn=deployed["result"].outputs["ReviewStateMachineArn"]
    )
    assert "${" not in review["definition"]
    definition = json.loads(review["definition"])
    assert definition == substitute(REVIEW_DEFINITION.read_text(), arns)
    assert review["type"] == "STANDARD"
    assert review["roleArn"] == role_arn(deployed["physical"]["ReviewStateMachineRole"])
    called = {
        s["Parameters"]["FunctionName"]
        for s in definition["States"].values()
        if s["Type"] == "Task"
    }
    assert called == set(arns.values())
    human = definition["States"]["Human review"]
    assert human["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert human["Parameters"]["FunctionName"] == arns["RequestReviewFunctionName"]


def test_stack_update_applies_the_new_substitutions(
    aws: str, stack_name: str, model_dir: Path, quiet: Console
) -> None:
    """A changed parameter reaches the stored definition through DefinitionSubstitutions.

    Sent as a plain UpdateStack, with every condition true and only the parameters that differ
    from their template default, around moto 5.2.5 gaps in stack updates: ``UsePreviousValue``
    for a parameter the stack took from its default fails (HTTP 500, KeyError; ``deploy``
    sends those), resources whose Condition is false are updated anyway, and a parameter
    given explicitly for the first time counts as changed even when its value is the same,
    which "updates" log groups moto cannot update."""
    first = deploy(
        stack_name,
        settings=load_settings(env={}),
        model_dir=model_dir,
        image_uri=ECR_IMAGE,
        parameters={"ImagesPrefix": "before/", "EnableS3Trigger": "true"},
        console=quiet,
        poll=0,
    )
    cfn = boto3.client("cloudformation")
    (described,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}
    assert values["ImagesPrefix"] == "before/"
    values["ImagesPrefix"] = "after/"
    cfn.update_stack(
        StackName=stack_name,
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in values.items()
            if value != str(PARAMETERS[key].get("Default"))
        ],
        Capabilities=CAPABILITIES,
    )
    (updated,) = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    assert updated["StackStatus"] == "UPDATE_COMPLETE"

    sfn, lam = boto3.client("stepfunctions"), boto3.client("lambda")
    outputs = first.outputs
    batch = json.loads(
        sfn.describe_state_machine(stateMachineArn=outputs["BatchStateMachineArn"])["definition"]
    )
    assert batch["States"]["Apply defaults"]["Parameters"]["prefix"] == "after/"
    main = sfn.describe_state_machine(stateMachineArn=outputs["StateMachineArn"])["definition"]
    assert "${" not in main
    arns = {
        lam.get_function(FunctionName=outputs[f"{name}FunctionName"])["Configuration"][
            "FunctionArn"
        ]
        for name in ("SerializeImage", "Classify", "FilterConfidence")
    }
    assert {s["Parameters"]["FunctionName"] for s in json.loads(main)["States"].values()} == arns


def test_endpoint_serves_the_uploaded_model_with_data_capture(
    aws: str, deployed: dict[str, Any]
) -> None:
    sagemaker = boto3.client("sagemaker")
    endpoint = sagemaker.describe_endpoint(EndpointName=deployed["result"].outputs["EndpointName"])
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    bucket = deployed["parameters"]["ArtifactBucket"]
    assert config["DataCaptureConfig"]["EnableCapture"] is True
    assert int(config["DataCaptureConfig"]["InitialSamplingPercentage"]) == 40
    assert config["DataCaptureConfig"]["DestinationS3Uri"] == f"s3://{bucket}/datacapture"
    assert {o["CaptureMode"] for o in config["DataCaptureConfig"]["CaptureOptions"]} == {
        "Input",
        "Output",
    }
    (variant,) = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic" and variant["InstanceType"] == "ml.m5.large"
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["Image"] == ECR_IMAGE
    key = deployed["parameters"]["ModelDataKey"]
    assert model["PrimaryContainer"]["ModelDataUrl"] == f"s3://{bucket}/{key}"
    data = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        assert sorted(archive.getnames()) == ["baseline.json", "model.json", "model.onnx"]
    endpoint_role = role_statements(deployed["physical"]["EndpointRole"])
    assert {
        "Effect": "Allow",
        "Action": ["s3:GetObject"],
        "Resource": [f"arn:aws:s3:::{bucket}/{key}"],
    } in endpoint_role
    assert {
        "Effect": "Allow",
        "Action": [
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        ],
        "Resource": [repository_arn(ECR_IMAGE)],
    } in endpoint_role


def test_s3_trigger_rule_starts_the_state_machine(aws: str, deployed: dict[str, Any]) -> None:
    events = boto3.client("events")
    rule = deployed["physical"]["S3TriggerRule"]
    pattern = json.loads(events.describe_rule(Name=rule)["EventPattern"])
    assert pattern["detail"]["object"]["key"] == [{"prefix": "incoming/"}]
    (target,) = events.list_targets_by_rule(Rule=rule)["Targets"]
    assert target["Arn"] == deployed["result"].outputs["StateMachineArn"]
    assert target["InputTransformer"]["InputTemplate"] == '{"s3_bucket": <bucket>, "s3_key": <key>}'
    statements = role_statements(deployed["physical"]["EventsRole"])
    assert statements == [
        {"Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [target["Arn"]]}
    ]


def test_redeploy_without_changes_uploads_nothing(
    aws: str, deployed: dict[str, Any], quiet: Console
) -> None:
    again = deploy("vgdeployed", settings=load_settings(env={}), console=quiet, poll=0)
    assert again.uploaded == []
    assert again.outputs == deployed["result"].outputs


def test_large_template_goes_through_s3(
    aws: str, stack_name: str, model_dir: Path, quiet: Console
) -> None:
    """Bodies over 51,200 bytes must be passed as TemplateURL
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html)."""
    result = deploy(
        stack_name,
        settings=load_settings(env={}),
        model_dir=model_dir,
        image_uri=ECR_IMAGE,
        console=quiet,
        poll=0,
        template_body_limit=1000,
    )
    assert result.status == "CREATE_COMPLETE"
    bucket = result.outputs["ArtifactBucket"]
    keys = [
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(
            Bucket=bucket, Prefix=f"{stack_name}/template/"
        )["Contents"]
    ]
    assert len(keys) == 1 and keys[0].endswith(".json")


def test_destroy_deletes_the_stack(
    aws: str, stack_name: str, model_dir: Path, quiet: Console
) -> None:
    result = deploy(
        stack_name,
        settings=load_settings(env={}),
        model_dir=model_dir,
        image_uri=ECR_IMAGE,
        console=quiet,
        poll=0,
    )
    function = result.outputs["ClassifyFunctionName"]
    # EnableReviewStateMachine defaults to false: no review machine, function or role.
    assert "ReviewStateMachineArn" not in result.outputs
    assert "RequestReviewFunctionName" not in result.outputs
    resources = boto3.client("cloudformation").describe_stack_resources(StackName=stack_name)
    created = {r.get("LogicalResourceId") for r in resources["StackResources"]}
    assert "StateMachine" in created
    assert (
        not {"ReviewStateMachine", "RequestReviewFunction", "RequestReviewFunctionRole"} & created
    )
    assert destroy(stack_name, console=quiet, poll=0) == "DELETE_COMPLETE"
    with pytest.raises(StackNotFound, match=stack_name):
        stack_outputs(stack_name)
    with pytest.raises(boto3.client("lambda").exceptions.ResourceNotFoundException):
        boto3.client("lambda").get_function(FunctionName=function)


# --- what goes wrong -----------------------------------------------------------------------


def _stack_exists(moto_server: str, name: str) -> bool:
    cfn = boto3.client(
        "cloudformation",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return any(s["StackName"] == name for s in cfn.list_stacks()["StackSummaries"])


def test_missing_credentials_fail_before_any_request(
    aws: str,
    stack_name: str,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    quiet: Console,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(NoCredentialsError, match="no AWS credentials found") as caught:
        deploy(
            stack_name,
            settings=load_settings(env={}),
            model_dir=model_dir,
            image_uri=ECR_IMAGE,
            console=quiet,
        )
    assert "AWS_ACCESS_KEY_ID" in (caught.value.hint or "")
    assert not _stack_exists(aws, stack_name)


def test_new_stack_needs_an_image_uri(
    aws: str, stack_name: str, model_dir: Path, quiet: Console
) -> None:
    with pytest.raises(MissingImageUri, match="--image-uri"):
        deploy(stack_name, settings=load_settings(env={}), model_dir=model_dir, console=quiet)
    with pytest.raises(MissingImageUri, match="not an Amazon ECR image URI"):
        deploy(
            stack_name,
            settings=load_settings(env={}),
            model_dir=model_dir,
            image_uri="nginx:latest",
            console=quiet,
        )
    assert not _stack_exists(aws, stack_name)


def test_new_stack_needs_a_model(aws: str, stack_name: str, quiet: Console) -> None:
    with pytest.raises(MissingModel, match="--model"):
        deploy(stack_name, settings=load_settings(env={}), image_uri=ECR_IMAGE, console=quiet)


def test_failing_resource_reason_reaches_the_message(
    aws: str, stack_name: str, model_dir: Path, quiet: Console
) -> None:
    """Asking the stack to create an images bucket whose name is taken fails that resource.

    moto reports a resource failure as CreateStack's own error (real CloudFormation records
    CREATE_FAILED events instead; test_stacks.py covers that path)."""
    taken = f"{stack_name}-taken"
    boto3.client("s3").create_bucket(Bucket=taken)
    with pytest.raises(AWSRequestError) as caught:
        deploy(
            stack_name,
            settings=load_settings(env={}),
            model_dir=model_dir,
            image_uri=ECR_IMAGE,
            images_bucket=taken,
            parameters={"CreateImagesBucket": "true"},
            console=quiet,
            poll=0,
        )
    assert caught.value.code == "BucketAlreadyExists"
    assert (
        "CreateStack failed: BucketAlreadyExists: The requested bucket name is not available"
        in str(caught.value)
    )


def test_existing_images_bucket_is_used_not_created(
    aws: str, stack_name: str, model_dir: Path, quiet: Console
) -> None:
    mine = f"{stack_name}-mine"
    boto3.client("s3").create_bucket(Bucket=mine)
    result = deploy(
        stack_name,
        settings=load_settings(env={}),
        model_dir=model_dir,
        image_uri=ECR_IMAGE,
        images_bucket=mine,
        parameters={"EnableS3Trigger": "true"},
        console=quiet,
        poll=0,
    )
    assert result.outputs["ImagesBucket"] == mine
    params = {
        p["ParameterKey"]: p["ParameterValue"]
        for p in boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0][
            "Parameters"
        ]
    }
    assert params["CreateImagesBucket"] == "false"
    # The user's bucket does not send events to EventBridge yet: deploy says how to turn it on.
    assert "put-bucket-notification-configuration" in quiet.file.getvalue()


def test_unknown_parameter_is_refused(
    aws: str, stack_name: str, model_dir: Path, quiet: Console
) -> None:
    from visiongate.deploy.errors import DeployError

    with pytest.raises(DeployError, match="unknown template parameter"):
        deploy(
            stack_name,
            settings=load_settings(env={}),
            model_dir=model_dir,
            image_uri=ECR_IMAGE,
            parameters={"Treshold": "0.8"},
            console=quiet,
        )


def test_repository_arn_from_ecr_uris() -> None:
    assert repository_arn("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/vg:2.1") == (
        "arn:aws:ecr:eu-west-1:123456789012:repository/team/vg"
    )
    digest = "sha256:" + "a" * 64
    assert repository_arn(f"123456789012.dkr.ecr.us-east-1.amazonaws.com/vg@{digest}") == (
        "arn:aws:ecr:us-east-1:123456789012:repository/vg"
    )
    with pytest.raises(MissingImageUri):
        repository_arn("public.ecr.aws/x/y:1")
