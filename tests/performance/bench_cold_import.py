"""``ingest_cold_import_s``: a fresh interpreter importing each handler module (what a cold start pays).

Baseline ``python_startup_s``: ``python -c pass`` in the same environment.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.performance.report import Report

ROUNDS = 7
HANDLERS = {
    "ingest_cold_import_s": ("functions.ingest_api.handler", "< 0.6 s"),
    "ingest_stream_cold_import_s": ("functions.ingest_stream.handler", ""),
    "analytics_api_cold_import_s": ("functions.analytics_api.handler", ""),
    "analytics_rollup_cold_import_s": ("functions.analytics_rollup.handler", ""),
}


def _time(code: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(report: Report) -> None:
    report.baseline("python_startup_s", _time("pass"), "s")
    for name, (module, goal) in HANDLERS.items():
        report.figure(name, _time(f"import {module}"), "s", "python_startup_s", goal=goal)
