"""cfn-lint reports no errors on the synthesized templates."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from cfnlint.api import ManualArgs, lint_file

from infra_cdk.constants import ENVIRONMENTS

if TYPE_CHECKING:
    from tests.infrastructure.conftest import Synthesized

pytestmark = pytest.mark.infrastructure


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_cfn_lint_reports_no_errors(full_app: Synthesized, env_name: str) -> None:
    # Given the template with every function wired (a superset of the repository's)
    template = full_app.template_path(env_name)
    region = full_app.templates[env_name]["Resources"] and "eu-central-1"
    # When cfn-lint checks it
    matches = lint_file(template, config=ManualArgs(regions=[region]))
    # Then it finds no errors (warnings about CDK's own DependsOn style are not errors)
    errors = [m for m in matches if m.rule.id.startswith("E")]
    assert not errors, "\n".join(str(m) for m in errors)
