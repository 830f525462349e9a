"""The data-pipeline policy pack's policies, grouped by concern."""

from . import encryption, hygiene, least_privilege

PACK_NAME = "data-pipeline-guardrails"
ALL_POLICIES = [*encryption.POLICIES, *least_privilege.POLICIES, *hygiene.POLICIES]
