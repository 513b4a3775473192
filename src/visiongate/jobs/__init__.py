"""Jobs: the one-command demo, batch runs over a prefix, and watching a prefix for new images."""
