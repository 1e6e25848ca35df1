"""One browser session bridged to one Live conversation."""
