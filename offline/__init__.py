"""Run the Pulumi program without the Pulumi CLI or AWS: stack files, mocks, recorded resources."""
