"""visiongate.deploy."""
