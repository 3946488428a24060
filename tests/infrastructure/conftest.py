"""Synthesizes each environment once per session: the app as ``make synth`` builds it, and
the app with every registered function present (so the admin API, schedules and all
wiring are proven before their functions land)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,19,20,21,23")

from infra_cdk.constants import ENVIRONMENTS, FUNCTIONS, stack_name


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    templates: dict[str, dict[str, Any]]  # environment -> template
    metadata: dict[str, dict[str, Any]]  # environment -> construct path -> metadata entries

    def template_path(self, env_name: str) -> Path:
        return self.outdir / f"{stack_name(env_name)}.template.json"


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synthesized:
    from infra_cdk.app import build_app

    app = build_app(context=context, outdir=str(outdir))
    assembly = app.synth()
    templates, metadata = {}, {}
    for env_name in ENVIRONMENTS:
        artifact = assembly.get_stack_artifact(stack_name(env_name))
        templates[env_name] = json.loads((outdir / artifact.template_file).read_text())
        metadata[env_name] = json.loads((outdir / f"{stack_name(env_name)}.metadata.json").read_text())
    return Synthesized(outdir=outdir, templates=templates, metadata=metadata)


@pytest.fixture(scope="session")
def repo_app(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app exactly as `make synth` builds it (the repository's functions/ and layer)."""
    return synthesize(tmp_path_factory.mktemp("cdk-repo"))


@pytest.fixture(scope="session")
def stub_functions_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A functions/ package with every function of the registry, each a one-line handler."""
    root = tmp_path_factory.mktemp("stub-functions") / "functions"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name in FUNCTIONS:
        (root / name).mkdir()
        (root / name / "__init__.py").write_text("")
        (root / name / "handler.py").write_text("def lambda_handler(event, context):\n    return event\n")
    return root


@pytest.fixture(scope="session")
def full_app(tmp_path_factory: pytest.TempPathFactory, stub_functions_dir: Path) -> Synthesized:
    """Every registered function present; an unbuilt layer (the placeholder path)."""
    return synthesize(
        tmp_path_factory.mktemp("cdk-full"),
        context={
            "functions_dir": str(stub_functions_dir),
            "layer_build_dir": str(tmp_path_factory.mktemp("no-layer") / "build"),
        },
    )


@pytest.fixture(scope="session")
def templates(full_app: Synthesized) -> dict[str, dict[str, Any]]:
    return full_app.templates


# --- helpers for reading templates ---------------------------------------------------------
def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def one(template: dict[str, Any], resource_type: str, id_contains: str = "") -> tuple[str, dict[str, Any]]:
    found = [(k, v) for k, v in resources(template, resource_type).items() if id_contains in k]
    assert len(found) == 1, (
        f"expected one {resource_type} matching {id_contains!r}, got {[k for k, _ in found]}"
    )
    return found[0]


def project_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Our functions (not the handlers aws-cdk-lib adds for custom resources)."""
    return {
        k: v
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if "POWERTOOLS_SERVICE_NAME" in v["Properties"].get("Environment", {}).get("Variables", {})
    }


def function_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    found = [
        (k, v)
        for k, v in project_functions(template).items()
        if v["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == name
    ]
    assert len(found) == 1, f"function {name} not found once"
    return found[0]


def policy_statements_of_role(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    statements = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        roles = [r.get("Ref") for r in policy["Properties"].get("Roles", [])]
        if role_logical_id in roles:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
