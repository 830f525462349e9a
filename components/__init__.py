"""Pulumi components of the data pipeline: settings, storage, Glue jobs and the IAM they need."""
