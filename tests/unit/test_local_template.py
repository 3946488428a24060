"""The local stack's reading of CloudFormation intrinsics (no AWS call for literals and pseudo
parameters)."""

from __future__ import annotations

from typing import Any

import pytest

from infra_cdk.local.from_template import Created, TemplateResources


def resources(**created: str) -> TemplateResources:
    """A template whose named resources are already 'created' with ref = name and arn = arn:<name>."""
    template: dict[str, Any] = {"Resources": {name: {"Type": "AWS::SQS::Queue"} for name in created}}
    out = TemplateResources(template, "eu-west-1")
    for logical_id, ref in created.items():
        out._created[logical_id] = Created(ref, f"arn:{ref}")
    return out


def test_join_of_pseudo_parameters_refs_and_arns() -> None:
    r = resources(Fn="fn-name")
    value = {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":",
             {"Ref": "AWS::AccountId"}, "|", {"Ref": "Fn"}, "|", {"Fn::GetAtt": ["Fn", "Arn"]}],
        ]
    }  # fmt: skip
    assert r.resolve(value) == "arn:aws:states:eu-west-1:123456789012|fn-name|arn:fn-name"


def test_sub_with_variables_attributes_and_literals() -> None:
    r = resources(Fn="fn-name", Key="key-id")
    value = {"Fn::Sub": ["${Fn}/${Fn.Arn}/${X}/${!Literal}/${AWS::Region}", {"X": {"Ref": "Key"}}]}
    assert r.resolve(value) == "fn-name/arn:fn-name/key-id/${Literal}/eu-west-1"


def test_documents_resolve_every_intrinsic_inside() -> None:
    r = resources(Key="key-id")
    doc = {"Statement": [{"Resource": [{"Fn::GetAtt": ["Key", "Arn"]}, "*"], "Effect": "Allow"}]}
    assert r.resolve_all(doc) == {"Statement": [{"Resource": ["arn:key-id", "*"], "Effect": "Allow"}]}


def test_what_has_no_local_equivalent_is_named() -> None:
    r = resources()
    with pytest.raises(ValueError, match="cannot resolve"):
        r.resolve({"Fn::ImportValue": "x"})
    with pytest.raises(ValueError, match="cannot resolve"):
        r.resolve({"Fn::GetAtt": ["Db", "Endpoint.Address"]})


def test_names_fit_the_aws_length_limits_and_stay_distinct() -> None:
    r = resources()
    long_a = r._name("A" * 80 + "ServiceRole1", 64)
    long_b = r._name("A" * 80 + "ServiceRole2", 64)
    assert len(long_a) == len(long_b) == 64
    assert long_a != long_b
    assert r._name("Short", 64) == "wm-local-Short"
