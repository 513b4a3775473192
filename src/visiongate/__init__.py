"""visiongate: an image-classification workflow with a confidence gate.

Retrieve an image from object storage -> classify it on a SageMaker-compatible
endpoint -> gate on a confidence threshold, orchestrated by an Amazon States
Language engine. Runs on one machine by default; deploys to AWS unchanged.
"""

__version__ = "0.1.0"
