"""The layer is built without Docker into an importable ``python/`` tree (pip, arm64 wheels)."""

from __future__ import annotations

import importlib.machinery
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from infra_cdk.constants import LAYER_DIR, LAYER_PLATFORMS, PYTHON_VERSION, REPO_ROOT

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.infrastructure

ELF_MACHINE_AARCH64 = 183
RUNTIME_REQUIREMENTS = (
    "aws-lambda-powertools[tracer]",
    "pydantic",
    "pydantic-settings",
    "pyjwt[crypto]",
    "aws-encryption-sdk",
    "cryptography",
    "psycopg[binary]",
    "psycopg-pool",
    "boto3",
)


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", path
    return int.from_bytes(header[18:20], "little")


def test_layer_requirements_list_every_runtime_dependency() -> None:
    # Given the layer's requirements file
    lines = [
        line.split("==")[0].strip()
        for line in (LAYER_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # Then it lists every runtime package, pinned
    assert sorted(lines) == sorted(RUNTIME_REQUIREMENTS)
    assert all(
        "==" in line
        for line in (LAYER_DIR / "requirements.txt").read_text().splitlines()
        if line[:1].isalpha()
    )


def test_layer_build_asks_pip_for_arm64_wheels_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given the build script with pip replaced by a recorder
    sys.path.insert(0, str(LAYER_DIR))
    try:
        import build as layer_build  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(LAYER_DIR))
    calls: list[list[str]] = []
    monkeypatch.setattr(layer_build.subprocess, "run", lambda argv, check: calls.append(argv))
    # When it builds
    python_dir = layer_build.build(tmp_path / "build")
    # Then pip installs binary wheels for the Lambda platform and runtime, and shared/ is copied
    argv = calls[0]
    assert "--only-binary=:all:" in argv
    assert argv[argv.index("--python-version") + 1] == PYTHON_VERSION
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--platform"] == list(LAYER_PLATFORMS)
    assert argv[argv.index("--target") + 1] == str(python_dir)
    assert (python_dir / "shared" / "__init__.py").exists()
    assert not list(python_dir.rglob("__pycache__"))


@pytest.mark.slow
def test_layer_builds_without_docker_into_an_importable_python_tree(tmp_path: Path) -> None:
    # Given a clean output directory (pip may download wheels: the only test that does)
    output = tmp_path / "build"
    # When `make layer`'s script runs
    result = subprocess.run(
        [sys.executable, str(LAYER_DIR / "build.py"), "--output", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    python_dir = output / "python"
    # Then python/ holds shared and the packages, importable by name from that tree
    for package in (
        "shared",
        "pydantic",
        "pydantic_core",
        "psycopg",
        "psycopg_binary",
        "psycopg_pool",
        "aws_lambda_powertools",
        "aws_xray_sdk",
        "jwt",
        "aws_encryption_sdk",
        "cryptography",
        "boto3",
    ):
        spec = importlib.machinery.PathFinder.find_spec(package, [str(python_dir)])
        assert spec is not None, f"{package} is not importable from the layer"
        assert spec.origin is not None
        assert spec.origin.startswith(str(python_dir))
    # and the compiled parts are for Lambda's arm64 CPython of the runtime's version
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}-aarch64-linux-gnu.so"
    for extension in ("pydantic_core/_pydantic_core", "psycopg_binary/_psycopg"):
        matches = list(python_dir.glob(f"{extension}.{tag}"))
        assert matches, f"no {extension}.{tag}"
        assert _elf_machine(matches[0]) == ELF_MACHINE_AARCH64


def test_an_unbuilt_layer_is_a_placeholder_asset_of_its_own_not_the_functions_code(full_app: Any) -> None:
    # Before `make layer` the layer is a placeholder copied from the functions' directory with the
    # same bundling options; CDK would stage both as one asset, and every function would then
    # "run" the placeholder. Each has its own asset, and the functions' holds their code.
    import json

    template = full_app.templates["dev"]
    resources = template["Resources"]
    (layer,) = [r for k, r in resources.items() if r["Type"] == "AWS::Lambda::LayerVersion" and "Shared" in k]
    functions = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"]["Handler"].startswith("functions.")
    ]
    assert functions
    layer_asset = full_app.outdir / layer["Metadata"]["aws:asset:path"]
    assert (layer_asset / "python").is_dir()
    for function in functions:
        assert function["Properties"]["Code"]["S3Key"] != layer["Properties"]["Content"]["S3Key"]
        code = full_app.outdir / function["Metadata"]["aws:asset:path"]
        module = function["Properties"]["Handler"].rsplit(".", 1)[0]
        assert (code / (module.replace(".", "/") + ".py")).is_file(), json.dumps(function["Metadata"])
