"""visiongate.functions."""
