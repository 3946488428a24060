"""Regenerates the people's API sample events (run: ``python -m tests.integration.people.samples``).

The bearer token is a placeholder: the sample test (and whoever runs ``sam local invoke``) puts a
fresh Cognito ID token of the named role of tenant ``t-acme`` in its place.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra_cdk.local.apigw import admin_event
from infra_cdk.local.pki import LocalCA

ROOT = Path(__file__).resolve().parents[3] / "events"
TENANT = "t-acme"
TEAM = "5b0c6a3e-1d2f-4e5a-8b7c-9d0e1f2a3b4c"
EMPLOYEE = "3f6d1c2a-7b8e-4d5f-9a0b-1c2d3e4f5a6b"
DEVICE = "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
TOKEN = "REPLACE_WITH_ID_TOKEN"  # a placeholder, not a secret


def seed_directory(db: Any) -> None:
    """The team and employee the samples name, in the directory tables."""
    db.execute(
        "INSERT INTO teams (tenant_id, team_id, name, created_by) VALUES (%s, %s, 'Acme', 'seed')",
        (TENANT, TEAM),
    )
    db.execute(
        "INSERT INTO employees (tenant_id, employee_id, email, display_name, team_id, created_by)"
        " VALUES (%s, %s, 'ada@acme.example.com', 'Ada', %s, 'seed')",
        (TENANT, EMPLOYEE, TEAM),
    )


def token_placeholder(role: str) -> str:
    return f"{TOKEN}_OF_{role.upper()}"


def _write(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    cert = LocalCA("Acme Device CA").issue("device-sample", not_after=now + timedelta(days=3650))
    d, c = ROOT / "directory_api", ROOT / "consent_api"
    _write(d / "get_openapi.json", admin_event("GET", "/v1/openapi.json", None))
    _write(
        d / "post_team.json",
        admin_event("POST", "/v1/teams", token_placeholder("admin"), {"name": "Platform", "manager_ids": []}),
    )
    _write(
        d / "get_employees.json",
        admin_event("GET", "/v1/employees", token_placeholder("admin"), query={"limit": "50"}),
    )
    _write(
        d / "get_employee.json",
        admin_event(
            "GET", f"/v1/employees/{EMPLOYEE}", token_placeholder("admin"), path_params={"id": EMPLOYEE}
        ),
    )
    _write(
        d / "post_device.json",
        admin_event(
            "POST",
            "/v1/devices",
            token_placeholder("admin"),
            {"employee_id": EMPLOYEE, "certificate_pem": cert.cert_pem},
        ),
    )
    _write(
        d / "delete_device.json",
        admin_event(
            "DELETE", f"/v1/devices/{DEVICE}", token_placeholder("admin"), path_params={"id": DEVICE}
        ),
    )
    policy = {
        "version": "2026-01",
        "text": "Acme collects the apps you use and input counts to report focus time.",
        "purposes": ["productivity analytics"],
        "categories": ["apps", "input_counts"],
    }
    _write(
        c / "post_consent_policy.json",
        admin_event("POST", "/v1/consent-policies", token_placeholder("dpo"), policy),
    )
    _write(
        c / "put_my_consent.json",
        admin_event("PUT", "/v1/me/consent", token_placeholder("employee"),
                    {"policy_version": "2026-01", "categories": ["apps"], "channel": "web"}),
    )  # fmt: skip
    _write(
        c / "get_employee_consent.json",
        admin_event(
            "GET",
            f"/v1/employees/{EMPLOYEE}/consent",
            token_placeholder("admin"),
            path_params={"id": EMPLOYEE},
        ),
    )
    _write(
        c / "delete_my_consent.json",
        admin_event("DELETE", "/v1/me/consent", token_placeholder("employee"), query={"channel": "web"}),
    )
    analytics(ROOT / "analytics_api")


ANALYTICS_RULES = {
    "rules": [
        {"match": {"app": "Code"}, "category": "productive"},
        {"match": {"domain": "github.com", "type": "suffix"}, "category": "productive"},
        {"match": {"domain": "youtube.com", "type": "suffix"}, "category": "unproductive"},
        {"match": {"app": "^Microsoft (Word|Excel)$", "type": "regex"}, "category": "productive"},
        {"match": {"app": "Figma"}, "category": "productive", "team_id": TEAM},
    ]
}


def analytics(a: Path) -> None:
    for old in a.glob("*.json"):
        old.unlink()
    month = {"from": "2026-11-01", "to": "2026-11-30"}
    _write(a / "get_employee_daily.json",
           admin_event("GET", f"/v1/analytics/employees/{EMPLOYEE}/daily", token_placeholder("employee"),
                       query={"from": "2026-11-23", "to": "2026-11-29"}, path_params={"id": EMPLOYEE}))  # fmt: skip
    _write(a / "get_team_daily.json",
           admin_event("GET", f"/v1/analytics/teams/{TEAM}/daily", token_placeholder("admin"),
                       query=month, path_params={"id": TEAM}))  # fmt: skip
    _write(a / "get_team_weekly.json",
           admin_event("GET", f"/v1/analytics/teams/{TEAM}/weekly", token_placeholder("admin"),
                       query={"to": "2026-11-30", "weeks": "4"}, path_params={"id": TEAM}))  # fmt: skip
    _write(a / "get_top_apps.json",
           admin_event("GET", "/v1/analytics/top-apps", token_placeholder("admin"), query=month | {"limit": "10"}))  # fmt: skip
    _write(a / "put_productivity_rules.json",
           admin_event("PUT", "/v1/productivity-rules", token_placeholder("admin"), ANALYTICS_RULES))  # fmt: skip
    _write(
        a / "get_productivity_rules.json",
        admin_event("GET", "/v1/productivity-rules", token_placeholder("admin")),
    )


if __name__ == "__main__":
    main()
