"""``make local``: run the system in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
import time
import warnings


def main() -> int:
    warnings.simplefilter("ignore")
    from infra_cdk.local.stack import LocalStack, PortInUseError, shown

    done = threading.Event()

    def log(line: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {line}", flush=True)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    stack = LocalStack(log=log)
    try:
        try:
            info = stack.start()
        except PortInUseError as err:
            log(f"cannot start: {err}")
            return 1
        demo = info["demo"]
        log(f"ready: {shown(stack.state_dir / 'stack.json')}; in another terminal: make demo")
        log(f"demo tenant {demo['tenant_id']}; password for every demo user: {demo['password']}")
        for e in demo["users"]["employees"][:2]:
            log(
                f"  try: curl --cacert {info['ca_cert']} --cert {e['device_cert']} --key {e['device_key']} "
                f"{info['agent_api']}/v1/agent/config"
            )
        log("Ctrl-C stops everything")
        done.wait()
    finally:
        log("stopping ...")
        stack.stop()
        log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
