"""The bootstrap program: what an administrator creates once per AWS account so the workflows can run.

A second Pulumi project (`bootstrap/Pulumi.yaml`): GitHub's OIDC provider, the encrypted state bucket and
secrets key of the Pulumi backend, and the roles the workflows assume. Its outputs are the repository
variables the workflows read (bootstrap/variables.py).
"""
