"""Builds the policy pack (its constructor starts the analyzer server and blocks); the policies live in
`guardrails/`, where the tests import them."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from guardrails import ALL_POLICIES, PACK_NAME  # noqa: E402
from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

PolicyPack(name=PACK_NAME, enforcement_level=EnforcementLevel.MANDATORY, policies=ALL_POLICIES)
