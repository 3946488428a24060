"""Starts `python -m infra_cdk.local` (what `make local` runs) once per session and drives it over the network."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.local import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class RunningStack:
    info: dict[str, Any]
    state_dir: Path
    process: subprocess.Popen[str]
    log_path: Path

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else REPO_ROOT / p

    def log(self) -> str:
        return self.log_path.read_text()

    def aws(self, service: str) -> Any:
        """A boto3 client of the stack's moto, as any AWS SDK would reach it."""
        from infra_cdk.local.demo import aws_client

        return aws_client(self.info, service)


def start_stack(state_dir: Path) -> RunningStack:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.pop("DATABASE_URL", None)  # the embedded server, exactly as `make local` on a fresh machine
    env.update(
        LOCAL_STATE_DIR=str(state_dir),
        LOCAL_AGENT_PORT=str(free_port()),
        LOCAL_ADMIN_PORT=str(free_port()),
        LOCAL_AWS_PORT=str(free_port()),
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "stack.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "infra_cdk.local"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack_json = state_dir / "stack.json"
    deadline = time.monotonic() + 120
    while not stack_json.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"local stack did not start:\n{log_path.read_text()}")
        time.sleep(0.2)
    return RunningStack(json.loads(stack_json.read_text()), state_dir, process, log_path)


def stop_stack(stack: RunningStack, sig: int = signal.SIGTERM) -> int:
    stack.process.send_signal(sig)
    try:
        return stack.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        raise


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    if stack.process.poll() is None:
        stop_stack(stack)
