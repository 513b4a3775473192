"""The stack's resources as CloudFormation dicts: functions, state machines, trigger, endpoint.

Every builder is a pure function of its arguments; :mod:`visiongate.deploy.template`
assembles them with the parameters, conditions and outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from visiongate.deploy import iam
from visiongate.deploy.iam import Json, get_arn, ref, sub

LAMBDA_RUNTIME = "python3.12"
VARIANT = "AllTraffic"


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function: where its code is, what it may touch, how it is named."""

    key: str  # the local function name, e.g. "serialize_image"
    logical_id: str  # e.g. "SerializeImageFunction"
    placeholder: str  # the definition's ${...} name, e.g. "SerializeImageFunctionName"
    handler: str  # e.g. "visiongate.functions.serialize_image.handler"
    timeout: int
    read_images: bool
    invoke_endpoint: bool
    write_reviews: bool = False  # request_review: puts records under reviews/pending/
    condition: str | None = None  # the template Condition its resources are created under

    @property
    def name(self) -> str:
        """The deployed function name (a Fn::Sub string)."""
        return "${AWS::StackName}-" + self.key.replace("_", "-")

    @property
    def log_group_id(self) -> str:
        return self.logical_id + "LogGroup"

    @property
    def role_id(self) -> str:
        return self.logical_id + "Role"


def with_condition(resource: Json, condition: str | None) -> Json:
    if condition:
        resource["Condition"] = condition
    return resource


def lambda_log_group(spec: FunctionSpec) -> Json:
    resource: Json = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": sub("/aws/lambda/" + spec.name),
            "RetentionInDays": ref("LogRetentionDays"),
        },
    }
    return with_condition(resource, spec.condition)


def lambda_function(spec: FunctionSpec) -> Json:
    environment: dict[str, Any] = {
        "VISIONGATE_STORE_BACKEND": "s3",
        # Lambda's file system is read-only except /tmp.
        "VISIONGATE_HOME": "/tmp/.visiongate",
        "THRESHOLD": ref("Threshold"),
        "MAX_INLINE_IMAGE_BYTES": ref("MaxInlineImageBytes"),
        "MAX_IMAGE_BYTES": ref("MaxImageBytes"),
    }
    if spec.invoke_endpoint:
        # Only classify needs it, and only it should wait for the (slow) endpoint.
        environment["ENDPOINT"] = {"Fn::GetAtt": ["Endpoint", "EndpointName"]}
    if spec.write_reviews:
        environment["REVIEW_BUCKET"] = iam.review_bucket()
    resource: Json = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "FunctionName": sub(spec.name),
            "Description": f"visiongate {spec.key} ({spec.handler})",
            "Runtime": LAMBDA_RUNTIME,
            "Handler": spec.handler,
            "Architectures": ["x86_64"],
            "MemorySize": ref("LambdaMemorySize"),
            "Timeout": spec.timeout,
            "Role": get_arn(spec.role_id),
            "Code": {"S3Bucket": ref("ArtifactBucket"), "S3Key": ref("LambdaCodeKey")},
            "Environment": {"Variables": environment},
        },
    }
    return with_condition(resource, spec.condition)


def logging_configuration(log_group_id: str) -> Json:
    return {
        "Level": ref("LogLevel"),
        "IncludeExecutionData": {"Fn::If": ["IncludeExecutionData", True, False]},
        "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": get_arn(log_group_id)}}],
    }


def state_machine_log_group(suffix: str, condition: str | None = None) -> Json:
    # /aws/vendedlogs/ keeps CloudWatch Logs' resource policy small when many services log
    # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html).
    resource: Json = {
        "Type": "AWS::Logs::LogGroup",
        "Properties": {
            "LogGroupName": sub("/aws/vendedlogs/states/${AWS::StackName}-" + suffix),
            "RetentionInDays": ref("LogRetentionDays"),
        },
    }
    return with_condition(resource, condition)


def state_machine(
    name: str,
    definition_text: str,
    substitutions: dict[str, Any],
    role_id: str,
    log_group_id: str,
    condition: str | None = None,
) -> Json:
    """A STANDARD state machine: the definition file verbatim plus ``DefinitionSubstitutions``.

    AWS's documented form
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-stepfunctions-statemachine.html):
    ``DefinitionString`` is the definition text with its ``${Name}`` placeholders left in, and
    ``DefinitionSubstitutions`` maps each name to a value CloudFormation resolves (a function's
    ``Fn::GetAtt Arn``, a parameter's ``Ref``). The text is not an ``Fn::Sub`` template, so
    nothing else in it (``$$.Map.Item``, ``$.path``) is touched by CloudFormation.
    """
    resource: Json = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": sub(name),
            "StateMachineType": "STANDARD",
            "RoleArn": get_arn(role_id),
            "DefinitionString": definition_text,
            "DefinitionSubstitutions": dict(substitutions),
            "LoggingConfiguration": logging_configuration(log_group_id),
        },
    }
    return with_condition(resource, condition)


def images_bucket() -> Json:
    """Created only when asked; kept on stack deletion (it holds the user's images)."""
    return {
        "Type": "AWS::S3::Bucket",
        "Condition": "CreateImagesBucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": ref("ImagesBucketName"),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            # S3 sends "Object Created" events to EventBridge only when this is on
            # (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-event-notifications-eventbridge.html).
            "NotificationConfiguration": {
                "Fn::If": [
                    "S3Trigger",
                    {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
                    {"Ref": "AWS::NoValue"},
                ]
            },
        },
    }


def s3_trigger_rule(state_machine_id: str) -> Json:
    """EventBridge rule: an object created under the images prefix starts one execution.

    The input transformer turns the S3 event
    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html) into the
    workflow's input; unquoted placeholders become JSON strings
    (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
    """
    return {
        "Type": "AWS::Events::Rule",
        "Condition": "S3Trigger",
        "Properties": {
            "Description": "Start the image classification workflow for each new image",
            "State": "ENABLED",
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [ref("ImagesBucketName")]},
                    "object": {"key": [{"prefix": ref("ImagesPrefix")}]},
                },
            },
            "Targets": [
                {
                    "Id": "ImageClassificationStateMachine",
                    "Arn": ref(state_machine_id),
                    "RoleArn": get_arn("EventsRole"),
                    "InputTransformer": {
                        "InputPathsMap": {
                            "bucket": "$.detail.bucket.name",
                            "key": "$.detail.object.key",
                        },
                        "InputTemplate": '{"s3_bucket": <bucket>, "s3_key": <key>}',
                    },
                }
            ],
        },
    }


def sagemaker_model() -> Json:
    return {
        "Type": "AWS::SageMaker::Model",
        "Properties": {
            "ExecutionRoleArn": get_arn("EndpointRole"),
            "PrimaryContainer": {
                "Image": ref("ImageUri"),
                "ModelDataUrl": sub("s3://${ArtifactBucket}/${ModelDataKey}"),
                "Mode": "SingleModel",
            },
        },
    }


def sagemaker_endpoint_config() -> Json:
    """One instance variant with data capture of requests and responses.

    Serverless endpoints are not offered: they do not support data capture, which the
    monitoring relies on.
    """
    return {
        "Type": "AWS::SageMaker::EndpointConfig",
        "Properties": {
            "ProductionVariants": [
                {
                    "VariantName": VARIANT,
                    "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                    "InstanceType": ref("InstanceType"),
                    "InitialInstanceCount": ref("InstanceCount"),
                    "InitialVariantWeight": 1,
                }
            ],
            "DataCaptureConfig": {
                "EnableCapture": True,
                "InitialSamplingPercentage": ref("CapturePercent"),
                "DestinationS3Uri": sub("s3://${ArtifactBucket}/${CapturePrefix}"),
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                # JSON responses are captured as text; images stay base64 (SageMaker's format).
                "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]},
            },
        },
    }


def sagemaker_endpoint() -> Json:
    return {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {
            "EndpointName": ref("EndpointName"),
            "EndpointConfigName": {"Fn::GetAtt": ["EndpointConfig", "EndpointConfigName"]},
        },
    }


def endpoint_scaling() -> dict[str, Json]:
    """Target tracking on invocations per instance per minute
    (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-cloudformation.html).
    Without RoleARN, Application Auto Scaling uses its service-linked role."""
    return {
        "EndpointScalableTarget": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Condition": "AutoScaling",
            "Properties": {
                "ServiceNamespace": "sagemaker",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "ResourceId": sub(f"endpoint/${{Endpoint.EndpointName}}/variant/{VARIANT}"),
                "MinCapacity": ref("InstanceCount"),
                "MaxCapacity": ref("MaxInstanceCount"),
            },
        },
        "EndpointScalingPolicy": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Condition": "AutoScaling",
            "Properties": {
                "PolicyName": sub("${AWS::StackName}-invocations-per-instance"),
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": ref("EndpointScalableTarget"),
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": ref("InvocationsPerInstanceTarget"),
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
                    },
                    "ScaleInCooldown": 300,
                    "ScaleOutCooldown": 60,
                },
            },
        },
    }


def _alarm_actions() -> Json:
    return {"Fn::If": ["HasAlarmTopic", [ref("AlarmTopicArn")], {"Ref": "AWS::NoValue"}]}


def alarms(state_machine_id: str) -> dict[str, Json]:
    """Failed executions (AWS/States) and endpoint 5XX errors (AWS/SageMaker)
    (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html,
    https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html).
    Executions stopped by the confidence gate count as failed, hence a tunable threshold."""
    return {
        "ExecutionsFailedAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "visiongate: workflow executions failed "
                "(includes images below the confidence threshold)",
                "Namespace": "AWS/States",
                "MetricName": "ExecutionsFailed",
                "Dimensions": [{"Name": "StateMachineArn", "Value": ref(state_machine_id)}],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": ref("FailedExecutionsAlarmThreshold"),
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": _alarm_actions(),
            },
        },
        "EndpointErrorsAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "visiongate: the SageMaker endpoint answered with 5XX errors",
                "Namespace": "AWS/SageMaker",
                "MetricName": "Invocation5XXErrors",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}},
                    {"Name": "VariantName", "Value": VARIANT},
                ],
                "Statistic": "Sum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": _alarm_actions(),
            },
        },
    }


def endpoint_resources() -> dict[str, Json]:
    return {
        "EndpointRole": iam.sagemaker_role(),
        "Model": sagemaker_model(),
        "EndpointConfig": sagemaker_endpoint_config(),
        "Endpoint": sagemaker_endpoint(),
        **endpoint_scaling(),
    }
