"""``make local-run-schedule NAME=<function>``: run a scheduled function once against the running local stack.

In AWS, EventBridge Scheduler invokes it (``FunctionSpec.schedule``); here it runs in this process
with the environment the local stack resolved from the template (``.local/stack.json``) and the
function's sample scheduled event.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from infra_cdk.local.stack import REPO_ROOT, scheduled_functions


def main(argv: list[str]) -> int:
    names = scheduled_functions()
    if len(argv) != 1 or argv[0] not in names:
        print(f"usage: make local-run-schedule NAME=<{'|'.join(names)}>", file=sys.stderr)
        return 2
    name = argv[0]
    state = Path(os.environ.get("LOCAL_STATE_DIR") or REPO_ROOT / ".local")
    stack_json = state / "stack.json"
    if not stack_json.exists():
        print("the local stack is not running: start it with `make local` first", file=sys.stderr)
        return 1
    info = json.loads(stack_json.read_text())
    os.environ.update(
        AWS_ENDPOINT_URL=info["aws_endpoint"],
        AWS_DEFAULT_REGION=info["region"],
        AWS_REGION=info["region"],
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
        DATABASE_URL=info["database_url"],
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_DISABLED="true",
        POWERTOOLS_SERVICE_NAME=name,
    )
    os.environ.update(info["resources"])
    event = json.loads(next((REPO_ROOT / "events" / name).glob("*.json")).read_text())

    from infra_cdk.local.apigw import FakeLambdaContext

    handler = importlib.import_module(f"functions.{name}.handler")
    result = handler.lambda_handler(event, FakeLambdaContext())
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
