"""`make demo` against a local stack of its own (it grants everyone consent and withdraws one, so it
does not share the session's stack): every step answers and the summary adds up."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import REPO_ROOT, start_stack, stop_stack

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_demo_plays_a_working_day_over_the_local_apis(tmp_path: Path) -> None:
    stack = start_stack(tmp_path / "demo-stack")
    try:
        run = subprocess.run(
            [sys.executable, "-m", "infra_cdk.local.demo", "--minutes", "20", "--state", str(stack.state_dir)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
    finally:
        stop_stack(stack)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    for step in ("1. ", "2. ", "3. ", "4. ", "5. ", "6. ", "7. "):
        assert f"\n{step}" in "\n" + out, out
    summary = json.loads(out.rsplit("done in", 1)[1].split(": ", 1)[1])
    assert summary["events_accepted"] > 12 * 20  # at least an input window a minute each
    before, after = summary["team_a_before_rules"], summary["team_a_after_rules"]
    assert (before["members"], before["rules_version"], after["rules_version"]) == (6, 0, 1)
    assert before["productive_ms"] == 0 < after["productive_ms"]
    assert after["active_ms"] == before["active_ms"]  # recategorised, not recounted
    assert summary["withdrawn_agent_status"] == 403
    assert summary["audit_ok"] is True
