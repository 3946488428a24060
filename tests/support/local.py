"""What the tests of the local stack share: a free loopback port, and waiting for an execution."""

from __future__ import annotations

import socket
import time
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ended(sfn: Any, execution_arn: str, within_s: float = 60) -> dict[str, Any]:
    """The Step Functions execution, once it is no longer running."""
    deadline = time.monotonic() + within_s
    while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{execution_arn} still running after {within_s} s"
        time.sleep(0.05)
    return dict(described)
