"""The CDK app: one stack per environment of cdk.json (only ``-c env=NAME`` if given).

``python -m infra_cdk.app`` synthesizes offline into cdk.out/ (it reads cdk.json and
cdk.context.json itself; the CDK CLI passes them in). ``-c local=true`` synthesizes without
bootstrap resources (see ``local_synthesizer``), for the local stack that deploys the
template into moto.
"""

from __future__ import annotations

import json
import os
from typing import Any

# The machine's Node.js is what it is; its end-of-life banner would drown synth output.
# (jsii reads a list of silenced major versions.)
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,19,20,21,23")

from aws_cdk import App, DefaultStackSynthesizer, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from infra_cdk.config import load_environment
from infra_cdk.constants import ENVIRONMENTS, FUNCTIONS_DIR, LAYER_BUILD_DIR, REPO_ROOT, stack_name
from infra_cdk.stack import MonitoringStack


def file_context() -> dict[str, Any]:
    """The context the CDK CLI would pass: cdk.json's, then the committed lookups."""
    context: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    lookups = REPO_ROOT / "cdk.context.json"
    if lookups.exists():
        context |= json.loads(lookups.read_text(encoding="utf-8"))
    return context


LOCAL_ASSETS_BUCKET = "workforce-monitoring-local-assets"
ASSET_METADATA = "aws:cdk:enable-asset-metadata"  # cx-api ASSET_RESOURCE_METADATA_ENABLED_CONTEXT


def local_synthesizer() -> DefaultStackSynthesizer:
    """For the local stack (moto's CloudFormation): no bootstrap parameter, rule or roles.

    ``BootstraplessSynthesizer`` refuses file assets, and this stack has some (function code,
    the layer, the truststore); so assets keep their manifest (cdk.out/*.assets.json, with the
    staged ``asset.*`` paths) and point at one fixed bucket the local stack creates and fills.
    """
    return DefaultStackSynthesizer(
        generate_bootstrap_version_rule=False,
        file_assets_bucket_name=LOCAL_ASSETS_BUCKET,
        bucket_prefix="",
        qualifier="local",
    )


def bootstrap_assets_bucket(account: str, region: str) -> str:
    """The file-asset bucket `cdk bootstrap` creates (default qualifier)."""
    return f"cdk-{DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-{account}-{region}"


def _flag(value: object) -> bool:
    return str(value).lower() in {"1", "true", "yes"}


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> App:
    """The app with its stacks and the cdk-nag AwsSolutions checks (findings fail synth)."""
    # Under the CDK CLI, CDK_OUTDIR says where; run directly, synth goes to cdk.out/ as `cdk synth` would.
    if outdir is None and "CDK_OUTDIR" not in os.environ:
        outdir = str(REPO_ROOT / "cdk.out")
    # As `cdk synth` does by default: each asset-backed resource says where its staged asset
    # lies (aws:asset:path), which is how `sam local invoke -t cdk.out/...` finds function code.
    defaults = {ASSET_METADATA: True}
    app = App(context={**defaults, **file_context(), **(context or {})}, outdir=outdir)
    node = app.node
    selected = node.try_get_context("env")
    local = _flag(node.try_get_context("local"))
    functions_dir = node.try_get_context("functions_dir") or FUNCTIONS_DIR
    layer_build_dir = node.try_get_context("layer_build_dir") or LAYER_BUILD_DIR
    raw_context = {key: node.try_get_context(key) for key in ("environments", "account", "region")}
    for name in [selected] if selected else ENVIRONMENTS:
        config = load_environment(raw_context, name)
        MonitoringStack(
            app,
            stack_name(name),
            config=config,
            functions_dir=_path(functions_dir),
            layer_build_dir=_path(layer_build_dir),
            env=Environment(account=config.account, region=config.region),
            synthesizer=local_synthesizer() if local else DefaultStackSynthesizer(),
            assets_bucket=LOCAL_ASSETS_BUCKET
            if local
            else bootstrap_assets_bucket(config.account, config.region),
            termination_protection=config.is_prod,
            description=f"Workforce monitoring backend ({name})",
        )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def _path(value: object) -> Any:
    from pathlib import Path

    return Path(str(value))


def main() -> None:
    build_app().synth()


if __name__ == "__main__":
    main()
