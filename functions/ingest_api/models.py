"""Responses of the agent API (requests are ``shared.models.events.EventBatch``)."""

from __future__ import annotations

from pydantic import BaseModel


class Rejection(BaseModel):
    index: int
    event_id: str | None
    code: str
    message: str


class IngestResult(BaseModel):
    accepted: int
    rejected: list[Rejection]


class ConsentView(BaseModel):
    status: str
    policy_version: str | None
    categories: list[str]


class AgentConfig(BaseModel):
    employee_id: str
    consent: ConsentView
    upload_interval_s: int
    max_batch: int
