"""visiongate.model."""
