"""visiongate.sfn."""
