"""Version of the common case schema (semver). Bump minor for additions, major for breaks."""

SCHEMA_VERSION = "1.0.0"
