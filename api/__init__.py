"""The HTTP API: blueprints, authentication, and the one JSON error contract."""
