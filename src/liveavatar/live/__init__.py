"""The Live API client: connections, resumption, goAway rotation and reconnects."""
