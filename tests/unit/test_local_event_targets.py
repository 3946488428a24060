"""What the local EventBridge hands a state machine or function target, as EventBridge does."""

from __future__ import annotations

import json

from infra_cdk.local.workflows import aws_event, fill_template, target_input

EVENT = {
    "version": "0",
    "id": "e-1",
    "detail-type": "ConsentWithdrawn",
    "source": "workforce.consent",
    "account": "123456789012",
    "time": 1796418000.0,
    "region": "eu-west-1",
    "resources": [],
    "detail": {"tenant_id": "t-1", "employee_id": "e-9", "categories": ["app_usage"]},
    "ingestion-time": 1796418000.5,
}


def test_the_event_a_target_gets_is_the_aws_shape() -> None:
    event = aws_event(EVENT)
    assert "ingestion-time" not in event
    assert event["time"] == "2026-12-04T21:00:00Z"
    assert event["detail"] == EVENT["detail"]


def test_input_input_path_and_whole_event() -> None:
    event = aws_event(EVENT)
    assert target_input({"Input": '{"fixed": 1}'}, event) == {"fixed": 1}
    assert target_input({"InputPath": "$.detail"}, event) == EVENT["detail"]
    assert target_input({"InputPath": "$.detail.employee_id"}, event) == "e-9"
    assert target_input({}, event) == event


def test_an_input_transformer_fills_json_values_and_text_inside_strings() -> None:
    event = aws_event(EVENT)
    target = {
        "InputTransformer": {
            "InputPathsMap": {"who": "$.detail.employee_id", "cats": "$.detail.categories"},
            "InputTemplate": '{"subject": <who>, "categories": <cats>, "note": "purge \\"<who>\\" <cats>"}',
        }
    }
    assert target_input(target, event) == {
        "subject": "e-9",
        "categories": ["app_usage"],
        "note": 'purge "e-9" ["app_usage"]',
    }


def test_a_template_keeps_text_that_is_not_a_placeholder() -> None:
    text = fill_template('{"a": "<b> < c >", "x": <n>}', {"n": None})
    assert json.loads(text) == {"a": "<b> < c >", "x": None}
