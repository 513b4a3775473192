"""The three Lambda handlers of the workflow, identical locally and on AWS Lambda.

    serialize_image.handler     "Retrieve data": object -> base64 (or a reference when large)
    classify.handler            "Inference": image -> SageMaker endpoint -> inferences
    filter_confidence.handler   "Valid confidence": pass, or fail THRESHOLD_CONFIDENCE_NOT_MET

They import only the standard library, boto3 and visiongate's errors, config, storage
and functions modules, so this package (plus those) is the whole Lambda deployment.
Shared parts: ``events`` (the four accepted event shapes), ``errors`` (error types),
``image_source`` (reading and checking image bytes), ``logs`` (JSON log lines),
``net`` (is a host or URL loopback).
"""
