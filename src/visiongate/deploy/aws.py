"""Deploy the workflow to AWS, run it there, tear it down — the Python API behind the CLI.

    deploy("vg", settings=settings, model_dir=Path("model"), image_uri="1234….dkr.ecr…/vg:1")
    stack_outputs("vg")                      # {"StateMachineArn": ..., "EndpointName": ...}
    start_and_wait(arn, {"s3_bucket": "b", "s3_key": "k.png"})   # {"status", "output", ...}
    destroy("vg")

``deploy`` packages the Lambda zip and ``model.tar.gz``, uploads them (content-addressed,
so unchanged artefacts are not re-uploaded and do not trigger updates) to an artifact
bucket it creates if needed, then creates or updates the CloudFormation stack and waits,
printing the stack's events. Every AWS error becomes a :mod:`visiongate.deploy.errors`
exception with a message and a hint.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from visiongate.config import Settings
from visiongate.deploy import stacks
from visiongate.deploy.awsclient import aws_errors, client, make_session, require_credentials
from visiongate.deploy.buckets import bucket_exists, ensure_bucket, upload_once
from visiongate.deploy.errors import (
    AWSRequestError,
    DeployError,
    MissingImageUri,
    MissingModel,
    StackFailed,
)
from visiongate.deploy.executions import start_and_wait
from visiongate.deploy.package import build_lambda_zip, build_model_tarball
from visiongate.deploy.template import PARAMETERS, build_template

CAPABILITIES = ["CAPABILITY_IAM"]  # the stack creates roles (names chosen by CloudFormation)
MAX_TEMPLATE_BODY = 51_200  # bytes; larger templates must go through S3 (TemplateURL)
# Function and state machine names are "<stack>-<suffix>" and must stay within AWS's limits
# (64 characters for functions); 40 leaves room for the longest suffix.
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,39}$")
_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?P<cn>\.cn)?"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@sha256:[0-9a-f]{64})?$"
)


@dataclass(frozen=True)
class DeployResult:
    stack_name: str
    stack_id: str
    status: str
    outputs: dict[str, str]
    uploaded: list[str] = field(default_factory=list)  # s3:// URIs written this time


def check_stack_name(stack: str) -> None:
    if not _STACK_NAME.match(stack):
        raise DeployError(
            f"stack name {stack!r} is not usable",
            hint="use a letter then letters, digits or hyphens, at most 40 characters",
        )


def repository_arn(image_uri: str) -> str:
    """The ECR repository ARN an image URI points into (what the endpoint role may pull)."""
    match = _ECR_URI.match(image_uri.strip())
    if not match:
        raise MissingImageUri(
            f"{image_uri!r} is not an Amazon ECR image URI",
            hint="build and push the Dockerfile, then pass --image-uri "
            "ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG (see docs/deploy.md)",
        )
    partition = "aws-cn" if match["cn"] else "aws"
    return (
        f"arn:{partition}:ecr:{match['region']}:{match['account']}:repository/{match['repository']}"
    )


def default_images_bucket(stack: str, account: str, region: str) -> str:
    suffix = f"-images-{account}-{region}"
    return (stack.lower()[: 63 - len(suffix)] + suffix).strip("-")


def default_artifact_bucket(account: str, region: str) -> str:
    return f"visiongate-artifacts-{account}-{region}"


# --- deploy --------------------------------------------------------------------------------


def check_parameters(overrides: dict[str, str]) -> None:
    unknown = sorted(set(overrides) - set(PARAMETERS))
    if unknown:
        raise DeployError(
            f"unknown template parameter(s): {', '.join(unknown)}",
            hint=f"known parameters: {', '.join(PARAMETERS)}",
        )


def _merge_parameters(
    computed: dict[str, str], previous: dict[str, str] | None, overrides: dict[str, str]
) -> list[dict[str, Any]]:
    """CloudFormation Parameters: overrides > computed > previous value > template default."""
    values = {**computed, **overrides}
    result: list[dict[str, Any]] = []
    for key in PARAMETERS:
        if key in values:
            result.append({"ParameterKey": key, "ParameterValue": str(values[key])})
        elif previous is not None and key in previous:
            result.append({"ParameterKey": key, "UsePreviousValue": True})
    return result


def deploy(
    stack: str,
    *,
    settings: Settings,
    region: str | None = None,
    model_dir: Path | None = None,
    image_uri: str | None = None,
    artifact_bucket: str | None = None,
    images_bucket: str | None = None,
    parameters: dict[str, str] | None = None,
    session: Any = None,
    console: Console | None = None,
    poll: float = 5.0,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    template_body_limit: int = MAX_TEMPLATE_BODY,
) -> DeployResult:
    """Package, upload, create or update the stack, wait; return its outputs."""
    console = console or Console(stderr=True)
    # Everything that can be checked or built without AWS comes first.
    check_stack_name(stack)
    overrides = dict(parameters or {})
    check_parameters(overrides)
    image_uri = image_uri or overrides.pop("ImageUri", None)
    image_repository = repository_arn(image_uri) if image_uri else None
    template = build_template(settings)
    code = build_lambda_zip()
    model = build_model_tarball(Path(model_dir)) if model_dir is not None else None

    session = make_session(region, session)
    require_credentials(session)
    region = session.region_name
    cfn, s3 = client(session, "cloudformation"), client(session, "s3")

    existing = stacks.describe(cfn, stack)
    if existing is not None:
        state = existing["StackStatus"]
        if state in stacks.NEEDS_DELETE:
            raise StackFailed(
                stack,
                state,
                reason=existing.get("StackStatusReason"),
                hint=f"delete it first: visiongate deploy destroy --stack {stack}",
            )
        if state.endswith("_IN_PROGRESS"):
            raise DeployError(
                f"stack {stack} is busy ({state})",
                hint="wait for the running operation to finish, then deploy again",
            )
    previous = stacks.parameters_of(existing) if existing else None
    if image_uri is None and previous is None:
        raise MissingImageUri(
            "a new stack needs --image-uri: the ECR image of the model server",
            hint="build and push the Dockerfile (docs/deploy.md), then pass "
            "--image-uri ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG",
        )
    if model is None and previous is None:
        raise MissingModel(
            "a new stack needs --model MODEL_DIR (model.onnx + model.json)",
            hint="train one with `visiongate train --out MODEL_DIR`",
        )

    with aws_errors("GetCallerIdentity"):
        account = client(session, "sts").get_caller_identity()["Account"]
    bucket = artifact_bucket or (previous or {}).get("ArtifactBucket")
    bucket = bucket or default_artifact_bucket(account, region)
    if ensure_bucket(s3, bucket, region):
        console.print(f"created artifact bucket s3://{bucket}")

    computed: dict[str, str] = {"ArtifactBucket": bucket}
    uploaded: list[str] = []
    key = f"{stack}/lambda/{code.filename}"
    if upload_once(s3, bucket, key, code.data, "application/zip"):
        uploaded.append(f"s3://{bucket}/{key}")
    computed["LambdaCodeKey"] = key
    if model is not None:
        key = f"{stack}/model/{model.filename}"
        if upload_once(s3, bucket, key, model.data, "application/gzip"):
            uploaded.append(f"s3://{bucket}/{key}")
        computed["ModelDataKey"] = key
    if image_uri and image_repository:
        computed["ImageUri"] = image_uri
        computed["ImageRepositoryArn"] = image_repository
    if previous is None:
        name = images_bucket or default_images_bucket(stack, account, region)
        computed["ImagesBucketName"] = name
        if "CreateImagesBucket" not in overrides:
            computed["CreateImagesBucket"] = "false" if bucket_exists(s3, name) else "true"
    elif images_bucket is not None:
        computed["ImagesBucketName"] = images_bucket
    for uri in uploaded:
        console.print(f"uploaded {uri}")

    body = json.dumps(template, separators=(",", ":"))
    request: dict[str, Any] = {
        "StackName": stack,
        "Parameters": _merge_parameters(computed, previous, overrides),
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "visiongate:stack", "Value": stack}],
    }
    if len(body.encode()) <= template_body_limit:
        request["TemplateBody"] = body
    else:
        digest = hashlib.sha256(body.encode()).hexdigest()[:16]
        key = f"{stack}/template/template-{digest}.json"
        upload_once(s3, bucket, key, body.encode(), "application/json")
        request["TemplateURL"] = f"https://{bucket}.s3.{region}.amazonaws.com/{key}"

    seen: set[str] = set()
    if existing is None:
        console.print(f"creating stack {stack} in {region}")
        with aws_errors("CreateStack"):
            stack_id = cfn.create_stack(**request)["StackId"]
    else:
        stack_id = existing["StackId"]
        stacks.new_events(cfn, stack_id, seen)  # only this update's events are shown
        console.print(f"updating stack {stack} in {region}")
        try:
            with aws_errors("UpdateStack"):
                cfn.update_stack(**request)
        except AWSRequestError as exc:
            if (
                exc.code == "ValidationError"
                and "No updates are to be performed" in exc.aws_message
            ):
                console.print("no changes: the stack is up to date")
                return DeployResult(
                    stack, stack_id, existing["StackStatus"], stacks.outputs_of(existing), uploaded
                )
            raise
    description = stacks.wait(
        cfn,
        stack_id,
        stack,
        seen,
        console=console,
        poll=poll,
        timeout=timeout,
        sleep=sleep,
        clock=clock,
    )
    result = DeployResult(
        stack, stack_id, description["StackStatus"], stacks.outputs_of(description), uploaded
    )
    console.print(outputs_table(result.outputs, f"stack {stack}: {result.status}"))
    _warn_about_trigger(s3, console, description)
    return result


def _warn_about_trigger(s3: Any, console: Console, description: dict[str, Any]) -> None:
    """An existing bucket only emits S3 events to EventBridge when its owner turned that on."""
    params = stacks.parameters_of(description)
    if params.get("EnableS3Trigger") != "true" or params.get("CreateImagesBucket") != "false":
        return
    bucket = params.get("ImagesBucketName", "")
    try:
        with aws_errors("GetBucketNotificationConfiguration"):
            config = s3.get_bucket_notification_configuration(Bucket=bucket)
    except AWSRequestError as exc:
        console.print(
            f"[yellow]warning:[/] cannot check whether s3://{bucket} sends events to "
            f"EventBridge ({exc.code}); the S3 trigger needs that turned on (docs/deploy.md)"
        )
        return
    if "EventBridgeConfiguration" not in config:
        console.print(
            f"[yellow]warning:[/] s3://{bucket} does not send events to EventBridge, so new "
            "images will not start executions. Turn it on with:\n"
            f"  aws s3api put-bucket-notification-configuration --bucket {bucket} "
            "--notification-configuration '{\"EventBridgeConfiguration\": {}}'"
        )


def outputs_table(outputs: dict[str, str], title: str) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("output")
    table.add_column("value", overflow="fold")
    for key, value in sorted(outputs.items()):
        table.add_row(key, value)
    return table


# --- destroy, outputs ----------------------------------------------------------------------


def destroy(
    stack: str,
    *,
    region: str | None = None,
    session: Any = None,
    console: Console | None = None,
    poll: float = 5.0,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Delete the stack and wait; returns the final status (DELETE_COMPLETE)."""
    console = console or Console(stderr=True)
    session = make_session(region, session)
    require_credentials(session)
    cfn = client(session, "cloudformation")
    description = stacks.require(cfn, stack)
    stack_id = description["StackId"]
    seen: set[str] = set()
    stacks.new_events(cfn, stack_id, seen)
    console.print(f"deleting stack {stack}")
    with aws_errors("DeleteStack"):
        cfn.delete_stack(StackName=stack_id)
    final = stacks.wait(
        cfn,
        stack_id,
        stack,
        seen,
        console=console,
        poll=poll,
        timeout=timeout,
        sleep=sleep,
        clock=clock,
    )
    params = stacks.parameters_of(description)
    console.print(
        f"deleted stack {stack}. Kept: the images bucket s3://{params.get('ImagesBucketName', '?')} "
        f"and the artifact bucket s3://{params.get('ArtifactBucket', '?')} (delete them yourself "
        "when you no longer need their contents)."
    )
    return final["StackStatus"]


def stack_outputs(stack: str, region: str | None = None, *, session: Any = None) -> dict[str, str]:
    """The stack's outputs: StateMachineArn, BatchStateMachineArn, EndpointName, ImagesBucket…"""
    session = make_session(region, session)
    require_credentials(session)
    return stacks.outputs_of(stacks.require(client(session, "cloudformation"), stack))


__all__ = [
    "DeployResult",
    "deploy",
    "destroy",
    "outputs_table",
    "repository_arn",
    "stack_outputs",
    "start_and_wait",
]
