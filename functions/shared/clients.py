"""AWS clients, each created once per Lambda container and reused by every invocation it serves.

Created on first use rather than at import, so importing a handler needs no AWS configuration (region, endpoint).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    """The container's boto3 client for `service` (Powertools' Tracer, created first, traces its calls)."""
    return boto3.client(service)
