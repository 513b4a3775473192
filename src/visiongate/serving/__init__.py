"""visiongate.serving."""
