"""Helpers every handler uses: event field access with clear errors, S3 URIs, settings from the environment."""
