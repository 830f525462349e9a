"""Test harness: runs the Pulumi program under Pulumi's mocks without the CLI or AWS, records what it registers,
and runs the policy pack over it (tests, benchmark, `python -m harness.policy_report`)."""
