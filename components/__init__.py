"""Pulumi components of the data pipeline: storage, Glue jobs, orchestration, monitoring and the IAM they need (the
settings they receive, and the names they give AWS, come from settings/)."""
