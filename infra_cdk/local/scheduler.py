"""Runs the frequent scheduled functions in the background, as EventBridge Scheduler does in AWS.

Locally the interval is seconds, not the cloud's minute, so a developer (and the e2e tests) see
analytics shortly after events are stored. Functions on slower schedules (the audit checkpoint)
stay on demand: ``make local-run-schedule NAME=...``.
"""

from __future__ import annotations

import importlib
import json
import threading
from typing import TYPE_CHECKING, Any

from infra_cdk.constants import REPO_ROOT
from infra_cdk.local.apigw import FakeLambdaContext

if TYPE_CHECKING:
    from collections.abc import Callable

# Function -> seconds between runs locally.
BACKGROUND = {"analytics_rollup": 2.0}


class LocalScheduler:
    def __init__(self, functions: dict[str, float], log: Callable[[str], None] = print) -> None:
        self._functions = functions
        self._log = log
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(name, every), name=f"schedule-{name}", daemon=True)
            for name, every in functions.items()
        ]
        self.runs: dict[str, int] = dict.fromkeys(functions, 0)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _run(self, name: str, every: float) -> None:
        handler = importlib.import_module(f"functions.{name}.handler")
        event: dict[str, Any] = json.loads(next((REPO_ROOT / "events" / name).glob("*.json")).read_text())
        while not self._stop.wait(every):
            try:
                result = handler.lambda_handler(event, FakeLambdaContext())
            except Exception as err:  # a schedule outlives one failed run, as in the cloud; it says why
                self._log(f"schedule    {name} failed: {type(err).__name__}: {err}")
                continue
            self.runs[name] += 1
            if isinstance(result, dict) and (
                result.get("employee_days") or result.get("recategorized_tenants")
            ):
                self._log(f"schedule    {name} {json.dumps(result, default=str)}")
