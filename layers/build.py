"""Build the shared Lambda layer without Docker: ``layers/build/python/``.

pip downloads only binary wheels for the Lambda platform (arm64, the runtime's Python), so
the build fails if a package has none; then the repository's ``shared/`` package is copied
in. Run by ``make layer``; CDK zips ``layers/build/`` as the layer asset.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from infra_cdk.constants import LAYER_BUILD_DIR, LAYER_DIR, LAYER_PLATFORMS, PYTHON_VERSION  # noqa: E402

REQUIREMENTS = LAYER_DIR / "requirements.txt"
SHARED = REPO_ROOT / "shared"
# Not needed at run time; dropping them keeps the layer well under Lambda's 250 MB limit.
PRUNE = ("__pycache__", "*.pyc", "tests")


def pip_install(target: Path, requirements: Path = REQUIREMENTS) -> None:
    """Install ``requirements`` for the Lambda platform into ``target`` (wheels only)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        *(arg for platform in LAYER_PLATFORMS for arg in ("--platform", platform)),
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--target",
        str(target),
        "--upgrade",
        "-r",
        str(requirements),
    ]
    subprocess.run(command, check=True)  # noqa: S603 - fixed argv, no shell


def build(output: Path = LAYER_BUILD_DIR, shared: Path = SHARED) -> Path:
    """Rebuild ``output/python`` from scratch and return it."""
    python_dir = output / "python"
    if output.exists():
        shutil.rmtree(output)
    python_dir.mkdir(parents=True)
    pip_install(python_dir)
    shutil.copytree(shared, python_dir / "shared", ignore=shutil.ignore_patterns(*PRUNE))
    for cache in python_dir.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    return python_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, default=LAYER_BUILD_DIR, help="layer root (default: layers/build)"
    )
    args = parser.parse_args(argv)
    try:
        python_dir = build(args.output)
    except subprocess.CalledProcessError as error:
        print(
            f"layer build failed: pip exited {error.returncode} (a package without a wheel?)", file=sys.stderr
        )
        return 1
    print(f"layer built in {python_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
