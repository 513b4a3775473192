"""Least-privilege IAM roles for the stack, as CloudFormation resource dicts (pure functions).

One role per principal, each allowed only what its code does:

* ``serialize_image``: ``s3:GetObject`` on ``images-bucket/prefix*``; logs to its own log group.
* ``classify``: ``sagemaker:InvokeEndpoint`` on the one endpoint; ``s3:GetObject`` on the images
  (it reads the object itself when an image is passed by reference); its own log group.
* ``filter_confidence``: its own log group only.
* ``request_review`` (review variant only): ``s3:PutObject`` on
  ``review-bucket/reviews/pending/*`` — it writes one record there and reads nothing (the
  review bucket is ``ReviewBucketName``, else the images bucket); its own log group.
* the state machine: ``lambda:InvokeFunction`` on the three functions (and their versions),
  plus the CloudWatch Logs *delivery* actions Step Functions needs for execution logging,
  which do not support resource-level permissions, so AWS documents them on ``"*"``
  (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
* the batch state machine: as above, plus what a Distributed Map needs
  (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html):
  ``states:StartExecution`` on itself, ``states:DescribeExecution``/``StopExecution`` on its
  executions, ``s3:ListBucket`` limited to the images prefix (ItemReader listObjectsV2), and
  the ResultWriter's ``s3:PutObject`` family on the results prefix.
* the review state machine: as the state machine, on the four functions.
* EventBridge: ``states:StartExecution`` on the state machine only.
* SageMaker: read the model artefact, pull the one ECR repository, write data capture under
  the capture prefix, write its own endpoint logs.

A Lambda log group ARN from ``Fn::GetAtt LogGroup.Arn`` ends in ``:*``, which covers the
group's log streams — what ``CreateLogStream``/``PutLogEvents`` act on.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]


def sub(text: str) -> Json:
    return {"Fn::Sub": text}


def ref(name: str) -> Json:
    return {"Ref": name}


def get_arn(logical_id: str) -> Json:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def allow(actions: list[str], resources: Any, condition: Json | None = None) -> Json:
    statement: Json = {"Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def role(
    service: str, policy_name: str, statements: list[Json], condition: str | None = None
) -> Json:
    """An ``AWS::IAM::Role`` that only ``service`` can assume, with one inline policy."""
    resource: Json = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": policy_name,
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }
    if condition:
        resource["Condition"] = condition
    return resource


# --- the pieces policies are made of -------------------------------------------------------

IMAGES_OBJECTS = sub("arn:${AWS::Partition}:s3:::${ImagesBucketName}/${ImagesPrefix}*")
IMAGES_BUCKET = sub("arn:${AWS::Partition}:s3:::${ImagesBucketName}")
RESULTS_OBJECTS = sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}/${ResultsPrefix}/*")
MODEL_OBJECT = sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}/${ModelDataKey}")
CAPTURE_OBJECTS = sub("arn:${AWS::Partition}:s3:::${ArtifactBucket}/${CapturePrefix}/*")
# visiongate.functions.request_review.PENDING_PREFIX (not imported: keep deploy independent).
PENDING_REVIEWS_PREFIX = "reviews/pending/"


def review_bucket() -> Json:
    """The bucket request_review writes to: ``ReviewBucketName``, else the images bucket."""
    return {"Fn::If": ["HasReviewBucket", ref("ReviewBucketName"), ref("ImagesBucketName")]}


def pending_reviews() -> Json:
    return {
        "Fn::Sub": [
            "arn:${AWS::Partition}:s3:::${Bucket}/" + PENDING_REVIEWS_PREFIX + "*",
            {"Bucket": review_bucket()},
        ]
    }


# Step Functions' documented policy for execution logging (cw-logs.html, "IAM policies for
# logging to CloudWatch Logs"): these log-delivery actions take Resource "*".
LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]


def write_own_logs(log_group_id: str) -> Json:
    return allow(["logs:CreateLogStream", "logs:PutLogEvents"], [get_arn(log_group_id)])


def invoke_functions(function_ids: list[str]) -> Json:
    """``lambda:InvokeFunction`` on each function and on its versions/aliases (``:*``)."""
    resources: list[Json] = []
    for logical_id in function_ids:
        resources.append(get_arn(logical_id))
        resources.append(sub(f"${{{logical_id}.Arn}}:*"))
    return allow(["lambda:InvokeFunction"], resources)


# --- the roles -----------------------------------------------------------------------------


def lambda_role(
    log_group_id: str,
    *,
    read_images: bool,
    invoke_endpoint: bool,
    write_reviews: bool = False,
    condition: str | None = None,
) -> Json:
    statements = [write_own_logs(log_group_id)]
    if read_images:
        statements.append(allow(["s3:GetObject"], [IMAGES_OBJECTS]))
    if invoke_endpoint:
        statements.append(allow(["sagemaker:InvokeEndpoint"], [ref("Endpoint")]))
    if write_reviews:
        statements.append(allow(["s3:PutObject"], [pending_reviews()]))
    return role("lambda.amazonaws.com", "visiongate-function", statements, condition)


def state_machine_role(function_ids: list[str], condition: str | None = None) -> Json:
    return role(
        "states.amazonaws.com",
        "visiongate-state-machine",
        [invoke_functions(function_ids), allow(LOG_DELIVERY_ACTIONS, "*")],
        condition,
    )


def batch_state_machine_role(function_ids: list[str], state_machine_name: str) -> Json:
    """``state_machine_name`` is a ``Fn::Sub`` string; the role cannot Ref its own machine."""
    machine = f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{state_machine_name}"
    executions = f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{state_machine_name}"
    statements = [
        invoke_functions(function_ids),
        allow(["states:StartExecution"], [sub(machine)]),
        allow(
            ["states:DescribeExecution", "states:StopExecution"],
            [sub(f"{executions}/*"), sub(f"{executions}:*")],
        ),
        allow(
            ["s3:ListBucket"],
            [IMAGES_BUCKET],
            {"StringLike": {"s3:prefix": [sub("${ImagesPrefix}*")]}},
        ),
        allow(
            [
                "s3:PutObject",
                "s3:GetObject",
                "s3:ListMultipartUploadParts",
                "s3:AbortMultipartUpload",
            ],
            [RESULTS_OBJECTS],
        ),
        allow(LOG_DELIVERY_ACTIONS, "*"),
    ]
    return role(
        "states.amazonaws.com", "visiongate-batch-state-machine", statements, "BatchStateMachine"
    )


def events_role(state_machine_id: str) -> Json:
    return role(
        "events.amazonaws.com",
        "visiongate-start-execution",
        [allow(["states:StartExecution"], [ref(state_machine_id)])],
        "S3Trigger",
    )


def sagemaker_role() -> Json:
    """The endpoint's execution role: model artefact, one ECR repository, capture, logs."""
    endpoint_logs = sub(
        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/sagemaker/Endpoints/*"
    )
    statements = [
        allow(["s3:GetObject"], [MODEL_OBJECT]),
        allow(["s3:PutObject"], [CAPTURE_OBJECTS]),
        # GetAuthorizationToken has no resource-level permissions (Resource must be "*").
        allow(["ecr:GetAuthorizationToken"], "*"),
        allow(
            ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            [ref("ImageRepositoryArn")],
        ),
        allow(
            [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            [endpoint_logs],
        ),
        allow(
            ["cloudwatch:PutMetricData"],
            "*",
            {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        ),
    ]
    return role("sagemaker.amazonaws.com", "visiongate-endpoint", statements)
