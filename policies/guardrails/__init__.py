"""The data-pipeline policy pack's policies, grouped by concern."""

from . import credentials, encryption, escalation, hygiene, least_privilege, resource_access

PACK_NAME = "data-pipeline-guardrails"
ALL_POLICIES = [*encryption.POLICIES, *least_privilege.POLICIES, *escalation.POLICIES, *resource_access.POLICIES,
                *credentials.POLICIES, *hygiene.POLICIES]
