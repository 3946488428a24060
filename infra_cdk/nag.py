"""Acknowledgements of validation findings: one exact finding id and a real reason, on one construct."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations

if TYPE_CHECKING:
    from constructs import IConstruct

AWS_SOLUTIONS = "AwsSolutions"


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge ``finding`` on ``construct`` and below.

    ``finding`` is a cdk-nag AwsSolutions id with its exact finding (``AwsSolutions-IAM5[Resource::*]``)
    or a plugin-qualified id (``CloudFormation-Validate::W3010``).
    """
    rule_id = finding if "::" in finding else f"{AWS_SOLUTIONS}::{finding}"
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))
