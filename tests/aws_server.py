"""A moto server on 127.0.0.1 for tests of code that calls AWS, and boto3 pointed at it."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from moto.server import ThreadedMotoServer

REGION = "eu-west-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto in server mode (a real HTTP endpoint) and yield its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def aws_environment(endpoint: str) -> dict[str, str]:
    """Environment that sends every boto3 client to the endpoint with throw-away credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # Powertools: no X-Ray daemon here; metrics go to stdout as EMF like in Lambda.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "DataPipelineTest",
        "POWERTOOLS_SERVICE_NAME": "data-pipeline-test",
    }
