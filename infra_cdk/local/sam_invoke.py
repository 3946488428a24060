"""``make sam-invoke FN=<function> EVENT=events/<function>/<x>.json``: ``sam local invoke`` the
synthesized template's function against the running local stack (machines with Docker only).

The function's environment is the one the local stack resolved from the same template
(``.local/stack.json``), with the moto endpoint; the container joins the host network so that
``127.0.0.1`` is the host. Functions that use PostgreSQL need ``DATABASE_URL`` pointing to a
TCP server (start the stack with ``DATABASE_URL=postgresql://...@127.0.0.1/...``): the embedded
server listens on a Unix socket the container cannot see. Run ``make layer`` first: the layer
holds ``shared/`` and the third-party packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra_cdk.local.from_template import function_logical_id, function_variables
from infra_cdk.local.stack import REPO_ROOT

SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"


def env_vars(template: dict[str, Any], function: str, info: dict[str, Any]) -> dict[str, dict[str, str]]:
    """SAM's --env-vars document: the template's variables with the local stack's values."""
    logical_id = function_logical_id(template["Resources"], function)
    declared = function_variables(template["Resources"][logical_id])
    values = {name: info["resources"][name] for name in declared if name in info["resources"]}
    values.update(
        AWS_ENDPOINT_URL=info["aws_endpoint"],
        AWS_REGION=info["region"],
        AWS_DEFAULT_REGION=info["region"],
        DATABASE_URL=info.get("database_url", ""),
        DB_IAM_AUTH="false",
        POWERTOOLS_TRACE_DISABLED="true",
    )
    return {logical_id: values}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: make sam-invoke FN=<function> EVENT=events/<function>/<event>.json", file=sys.stderr)
        return 2
    function, event = argv
    state = Path(os.environ.get("LOCAL_STATE_DIR") or REPO_ROOT / ".local")
    if not (state / "stack.json").exists():
        print("the local stack is not running: start it with `make local` first", file=sys.stderr)
        return 1
    info = json.loads((state / "stack.json").read_text())
    (template_path,) = (state / "cdk.out").glob("*.template.json")
    template = json.loads(template_path.read_text())
    env_file = state / f"sam-env-{function}.json"
    env_file.write_text(json.dumps(env_vars(template, function, info), indent=2))
    command = [
        str(SAM), "local", "invoke", function_logical_id(template["Resources"], function),
        "-t", str(template_path), "-e", event, "--env-vars", str(env_file), "--docker-network", "host",
    ]  # fmt: skip
    return subprocess.run(command, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
