"""Ephemeral per-PR stacks on the Pulumi Automation API: deploy, health-check, destroy (always), reap."""
