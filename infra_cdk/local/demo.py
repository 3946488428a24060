"""``make demo``: a working day against the running local stack, over HTTP(S) only, as people and
agents would, printing what each step returned.

1. every demo employee grants consent through the consent API;
2. their agents post a stretch of simulated working time over mutual TLS (progress bar);
3. team A's manager reads the team's day once the rollup has it;
4. the admin publishes productivity rules, and the manager reads the day again once past data
   is recategorised;
5. the DPO asks for a compliance report;
6. one employee withdraws consent, and their agent is told to stop;
7. the DPO verifies the audit chain and counts what the day left in it.

Options: ``--minutes N`` of simulated time per employee (default 120), ``--state DIR``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from infra_cdk.local.agents import working_time
from infra_cdk.local.stack import REPO_ROOT

RULES = {
    "rules": [
        {"match": {"app": "code"}, "category": "productive"},
        {"match": {"app": "terminal"}, "category": "productive"},
        {"match": {"app": "figma"}, "category": "productive"},
        {"match": {"app": "spotify"}, "category": "unproductive"},
        {"match": {"domain": "github.com", "type": "suffix"}, "category": "productive"},
        {"match": {"domain": "python.org", "type": "suffix"}, "category": "productive"},
        {"match": {"domain": "youtube.com", "type": "suffix"}, "category": "unproductive"},
        {"match": {"domain": "news.ycombinator.com"}, "category": "unproductive"},
    ]
}


def aws_client(info: dict[str, Any], service: str) -> Any:
    """A boto3 client of the running stack's moto (``stack.json``'s ``info``), as any SDK reaches it."""
    import boto3

    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=info["aws_endpoint"],
        region_name=info["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )


def id_token(info: dict[str, Any], email: str) -> str:
    """A demo user's Cognito ID token from the local pool (``stack.json``'s ``info``)."""
    auth = aws_client(info, "cognito-idp").initiate_auth(
        ClientId=info["user_pool_client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": info["demo"]["password"]},
    )
    return str(auth["AuthenticationResult"]["IdToken"])


def admin_call(
    info: dict[str, Any], method: str, path: str, token: str | None, body: Any = None, timeout: float = 60
) -> tuple[int, Any]:
    """One admin-API call over HTTP: status and decoded JSON body (``None`` if empty)."""
    host, port = info["admin_api"].removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


class Demo:
    def __init__(self, info: dict[str, Any], out: Any = sys.stdout) -> None:
        self.info = info
        self.demo = info["demo"]
        self.out = out
        self._tokens: dict[str, str] = {}

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    # --- transport ---------------------------------------------------------------------------
    def token(self, email: str) -> str:
        if email not in self._tokens:
            self._tokens[email] = id_token(self.info, email)
        return self._tokens[email]

    def admin(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        return admin_call(self.info, method, path, self.token(who), body)

    def agent(self, employee: dict[str, Any], method: str, path: str, body: Any = None) -> tuple[int, Any]:
        root = Path(self.info.get("root", REPO_ROOT))
        ctx = ssl.create_default_context(cafile=str(root / self.info["ca_cert"]))
        ctx.load_cert_chain(str(root / employee["device_cert"]), str(root / employee["device_key"]))
        host, port = self.info["agent_api"].removeprefix("https://").split(":")
        conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=60)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": "application/json"})  # fmt: skip
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"{}")
        finally:
            conn.close()

    # --- the day -----------------------------------------------------------------------------
    def run(self, minutes: int) -> dict[str, Any]:
        employees = self.demo["users"]["employees"]
        users = self.demo["users"]
        summary: dict[str, Any] = {}
        today = datetime.now(UTC).date()
        period = urlencode({"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()})

        self.say(f"1. {len(employees)} employees grant consent (policy {self.demo['policy_version']})")
        for e in employees:
            status, body = self.admin("PUT", "/v1/me/consent", e["email"], {
                "policy_version": self.demo["policy_version"],
                "categories": ["apps", "window_titles", "urls", "input_counts"],
            })  # fmt: skip
            if status != 200:
                raise RuntimeError(f"consent for {e['email']}: {status} {body}")
        self._wait("   agents see the consent", lambda: all(
            self.agent(e, "GET", "/v1/agent/config")[1]["consent"]["status"] == "active" for e in employees
        ), seconds=30)  # fmt: skip

        self.say(f"2. agents post {minutes} minutes of simulated working time each, over mutual TLS")
        summary["events_accepted"] = self._post_working_time(employees, minutes)

        team_a = self.demo["teams"]["a"]
        team_path = f"/v1/analytics/teams/{team_a}/daily?{period}"
        self.say("3. team A's manager reads the team's day (the rollup runs every few seconds)")
        day = self._wait_stable(lambda: self.admin("GET", team_path, users["manager_a"]))
        summary["team_a_before_rules"] = self._show_team(day[1])

        self.say("4. the admin publishes productivity rules; the job recategorises the past")
        status, rules = self.admin("PUT", "/v1/productivity-rules", users["admin"], RULES)
        self.say(f"   PUT /v1/productivity-rules -> {status}: version {rules['version']}, "
                 f"applied {rules['applied_version']}, recategorizing {rules['recategorizing']}")  # fmt: skip
        day = self._wait_for(lambda: self.admin("GET", team_path, users["manager_a"]),
                             lambda r: r[0] == 200 and r[1]["rules_version"] == rules["version"])  # fmt: skip
        summary["team_a_after_rules"] = self._show_team(day[1])

        self.say("5. the DPO requests a compliance report")
        status, body = self.admin("POST", "/v1/reports", users["dpo"], {
            "type": "compliance", "format": "pdf", "scope": {}, "from": today.isoformat(), "to": today.isoformat(),
        })  # fmt: skip
        if status == 202:
            self.say(f"   POST /v1/reports -> 202, report {body['report_id']}")
        else:
            code = (body or {}).get("error", {}).get("code")
            self.say(f"   POST /v1/reports -> {status} {code}: the reporting service is not built yet")
        summary["report_status"] = status

        leaver = employees[-1]
        self.say(f"6. {leaver['email']} withdraws consent")
        status, body = self.admin("DELETE", "/v1/me/consent", leaver["email"])
        self.say(f"   DELETE /v1/me/consent -> {status}, purge {body.get('purge_id') if body else None}")
        answer = self._wait_for(
            lambda: self.agent(leaver, "POST", "/v1/events", {"events": working_time(datetime.now(UTC) - timedelta(minutes=2), 1, leaver["team"], seed=99)}),
            lambda r: r[0] == 403,
            seconds=30,
        )  # fmt: skip
        self.say(
            f"   their agent posts again -> {answer[0]} {answer[1].get('error', {}).get('code')}: it must stop collecting"
        )
        summary["withdrawn_agent_status"] = answer[0]

        self.say("7. the DPO verifies the audit chain")
        status, verdict = self.admin("GET", "/v1/audit/verify", users["dpo"])
        window = urlencode({"from": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                            "to": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
                            "action": "analytics.team_daily.read", "limit": "500"})  # fmt: skip
        _, reads = self.admin("GET", f"/v1/audit/events?{window}", users["dpo"])
        self.say(f"   GET /v1/audit/verify -> {status}: ok={verdict['ok']}, {verdict['checked']} entries checked; "
                 f"{len(reads['events'])} entries record the manager's team reads (one per member)")  # fmt: skip
        summary["audit_ok"] = verdict["ok"]
        return summary

    def _post_working_time(self, employees: list[dict[str, Any]], minutes: int) -> int:
        start = (datetime.now(UTC) - timedelta(minutes=minutes + 10)).replace(microsecond=0)
        batches = [
            (e, chunk)
            for i, e in enumerate(employees)
            for events in [working_time(start, minutes, e["team"], seed=i)]
            for chunk in (events[j : j + 500] for j in range(0, len(events), 500))
        ]
        accepted = 0
        for done, (e, chunk) in enumerate(batches, 1):
            status, body = self.agent(e, "POST", "/v1/events", {"events": chunk})
            if status != 202:
                raise RuntimeError(f"posting events: {status} {body}")
            accepted += body["accepted"]
            self._progress(done, len(batches), f"{accepted:,} events accepted")
        return accepted

    def _wait_stable(self, fetch: Any, seconds: float = 120) -> Any:
        """The answer once it has data and two reads 3 s apart agree (the stream and the rollup
        have caught up)."""
        deadline = time.monotonic() + seconds
        last = None
        while True:
            got = fetch()
            if got[0] == 200 and sum(d["active_ms"] for d in got[1]["days"]) > 0 and got == last:
                return got
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting; last answer: {got}")
            last = got
            time.sleep(3)

    def _show_team(self, body: dict[str, Any]) -> dict[str, Any]:
        totals = {k: sum(d[k] for d in body["days"]) for k in
                  ("active_ms", "idle_ms", "productive_ms", "neutral_ms", "unproductive_ms")}  # fmt: skip
        apps: dict[str, int] = {}
        for d in body["days"]:
            for a in d["top_apps"]:
                apps[a["app"]] = apps.get(a["app"], 0) + a["active_ms"]
        top = sorted(apps.items(), key=lambda kv: -kv[1])[:4]

        def h(ms: int) -> str:
            return f"{ms / 3_600_000:.1f} h"

        self.say(f"   {body['members']} members, rules v{body['rules_version']}: active {h(totals['active_ms'])}, "
                 f"idle {h(totals['idle_ms'])}; productive {h(totals['productive_ms'])}, neutral "
                 f"{h(totals['neutral_ms'])}, unproductive {h(totals['unproductive_ms'])}")  # fmt: skip
        self.say("   top apps: " + ", ".join(f"{a} {h(ms)}" for a, ms in top))
        return totals | {"rules_version": body["rules_version"], "members": body["members"]}

    def _progress(self, done: int, total: int, text: str) -> None:
        width = 30
        filled = width * done // total
        end = "\n" if done == total else ""
        print(f"\r   [{'#' * filled}{'.' * (width - filled)}] {done}/{total} batches, {text}", end=end,
              file=self.out, flush=True)  # fmt: skip

    def _wait(self, label: str, done: Any, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(label)
            time.sleep(1)
        self.say(label)

    def _wait_for(self, fetch: Any, done: Any, seconds: float = 90) -> Any:
        deadline = time.monotonic() + seconds
        got = fetch()
        while not done(got):
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting; last answer: {got}")
            time.sleep(1)
            got = fetch()
        return got


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="make demo", description=__doc__.split("\n")[0] if __doc__ else None
    )
    parser.add_argument("--minutes", type=int, default=120, help="simulated working minutes per employee")
    parser.add_argument("--state", default=os.environ.get("LOCAL_STATE_DIR") or str(REPO_ROOT / ".local"))
    args = parser.parse_args(argv)
    stack_json = Path(args.state) / "stack.json"
    if not stack_json.exists():
        print("the local stack is not running: start it with `make local` first", file=sys.stderr)
        return 1
    info = json.loads(stack_json.read_text())
    started = time.monotonic()
    summary = Demo(info).run(args.minutes)
    print(f"\ndone in {time.monotonic() - started:.0f} s: {json.dumps(summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
