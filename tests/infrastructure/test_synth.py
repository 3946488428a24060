"""`make synth` works offline for every environment, and cdk-nag AwsSolutions passes with
every acknowledgement naming an exact finding and a reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from infra_cdk.config import load_environment
from infra_cdk.constants import ENVIRONMENTS, REPO_ROOT, stack_name

if TYPE_CHECKING:
    from pathlib import Path

    from tests.infrastructure.conftest import Synthesized

pytestmark = pytest.mark.infrastructure

FINDING = re.compile(
    r"^AwsSolutions::AwsSolutions-[A-Z]+\d+(\[[^\]]+\])?$|^CloudFormation-Validate::[EWIF]\d{4}$"
)
NEEDS_EXACT_FINDING = ("AwsSolutions-IAM4", "AwsSolutions-IAM5")


def _acknowledgements(app: Synthesized) -> list[tuple[str, str, str]]:
    found = []
    for metadata in app.metadata.values():
        for path, entries in metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found.extend((path, rule, reason) for rule, reason in entry["data"].items())
    return found


@pytest.mark.parametrize("which", ["repo_app", "full_app"])
def test_every_environment_synthesizes_with_cdk_nag_and_no_lookups(
    which: str, request: pytest.FixtureRequest
) -> None:
    # Given the app as `make synth` builds it, and with every registered function
    # (synth raises on any unacknowledged cdk-nag finding)
    app: Synthesized = request.getfixturevalue(which)
    # When the cloud assembly is read
    manifest = json.loads((app.outdir / "manifest.json").read_text())
    report = json.loads((app.outdir / "validation-report.json").read_text())
    # Then every environment has a template, no context lookup is missing, no plugin reported
    assert sorted(app.templates) == sorted(ENVIRONMENTS)
    assert not manifest.get("missing"), "synth needed a context lookup (an AWS call)"
    assert all(not plugin.get("violations") for plugin in report["pluginReports"])


def test_every_acknowledgement_names_an_exact_finding_and_a_reason(
    repo_app: Synthesized, full_app: Synthesized
) -> None:
    # Given every acknowledgement recorded in both apps
    acknowledgements = _acknowledgements(repo_app) + _acknowledgements(full_app)
    assert acknowledgements
    for path, rule, reason in acknowledgements:
        # Then each names one finding (wildcard findings with their exact subject) and says why
        if rule.startswith("Annotation::"):
            continue  # aws-cdk-lib's own acknowledgements of its annotations
        assert FINDING.match(rule), f"{path}: {rule}"
        rule_id = rule.split("::", 1)[1]
        if rule_id.startswith(NEEDS_EXACT_FINDING):
            assert "[" in rule_id, f"{path}: {rule} must name the exact finding"
        assert len(reason) >= 40, f"{path}: {rule} has no real reason"


def test_app_module_synthesizes_only_the_selected_environment_without_aws(tmp_path: Path) -> None:
    # Given the CLI's way of running the app (`cdk deploy -c env=dev`) and no AWS credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {"CDK_OUTDIR": str(tmp_path), "CDK_CONTEXT_JSON": json.dumps({"env": "dev"})}
    # When the module runs
    result = subprocess.run(
        [sys.executable, "-m", "infra_cdk.app"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # Then only dev is synthesized
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.glob("*.template.json")) == [f"{stack_name('dev')}.template.json"]


def test_account_and_region_can_be_overridden_from_the_command_line() -> None:
    # Given cdk.json's dev environment and `-c account=... -c region=...`
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    # When the configuration is loaded
    config = load_environment({**context, "account": "123456789012", "region": "eu-west-1"}, "dev")
    # Then the override wins
    assert (config.account, config.region) == ("123456789012", "eu-west-1")


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown environment"):
        load_environment({"environments": {}}, "qa")


def test_committed_context_needs_no_lookups() -> None:
    # cdk.context.json is committed; the app needs nothing in it (no Vpc.from_lookup & co).
    assert json.loads((REPO_ROOT / "cdk.context.json").read_text()) == {}


def test_local_flag_synthesizes_without_bootstrap_resources(tmp_path: Path) -> None:
    # Given `-c local=true` (the local stack deploys the template into moto's CloudFormation)
    from infra_cdk.app import LOCAL_ASSETS_BUCKET, build_app

    # When dev is synthesized
    build_app(context={"local": "true", "env": "dev"}, outdir=str(tmp_path)).synth()
    template = json.loads((tmp_path / f"{stack_name('dev')}.template.json").read_text())
    assets = json.loads((tmp_path / f"{stack_name('dev')}.assets.json").read_text())
    # Then there is no bootstrap parameter or rule, and assets go to the one local bucket
    assert "Parameters" not in template
    assert "Rules" not in template
    assert "cdk-hnb659fds" not in json.dumps(template)
    destinations = [d for f in assets["files"].values() for d in f["destinations"].values()]
    assert {d["bucketName"] for d in destinations if not d["objectKey"].endswith(".json")} == {
        LOCAL_ASSETS_BUCKET
    }
