"""`sam validate` accepts the synthesized templates (aws-sam-cli lives in .venv-sam: its pins
conflict with the project's)."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from infra_cdk.constants import ENVIRONMENTS, REPO_ROOT

if TYPE_CHECKING:
    from tests.infrastructure.conftest import Synthesized

pytestmark = pytest.mark.infrastructure

SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_sam_validate_accepts_the_template(full_app: Synthesized, env_name: str) -> None:
    # `make test` installs it (its pins conflict with ours, so it has its own venv): never skipped.
    assert SAM.exists(), "aws-sam-cli is missing from .venv-sam: run `make sam`"
    # Given a synthesized template and no AWS credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"AWS_DEFAULT_REGION": "eu-central-1", "SAM_CLI_TELEMETRY": "0"}
    # When sam validates it
    result = subprocess.run(
        [str(SAM), "validate", "--template-file", str(full_app.template_path(env_name))],
        cwd=full_app.outdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    # Then it is a valid template
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "is a valid SAM Template" in result.stdout + result.stderr
