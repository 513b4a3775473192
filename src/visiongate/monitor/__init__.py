"""visiongate.monitor."""
