"""The security-relevant properties of the synthesized templates (aws_cdk.assertions)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra_cdk.api_common import ONE_MIB
from infra_cdk.constants import (
    DEVICES_DEVICE_ID_INDEX,
    ENVIRONMENTS,
    FUNCTIONS,
    PRIVILEGED_GROUPS,
    PYTHON_VERSION,
    TABLE_SPECS,
    USER_GROUPS,
)
from tests.infrastructure.conftest import (
    as_list,
    function_named,
    one,
    policy_statements_of_role,
    project_functions,
    resources,
)

pytestmark = pytest.mark.infrastructure

CDK_JSON = json.loads((__import__("infra_cdk.constants").constants.REPO_ROOT / "cdk.json").read_text())[
    "context"
]
DATA_STORE_SERVICES = ("dynamodb", "kinesis", "s3", "kms", "sqs", "rds-db", "secretsmanager", "events")


def env_config(env_name: str) -> dict[str, Any]:
    return CDK_JSON["environments"][env_name]


@pytest.fixture(scope="module", params=ENVIRONMENTS)
def env_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def template_json(templates: dict[str, dict[str, Any]], env_name: str) -> dict[str, Any]:
    return templates[env_name]


@pytest.fixture(scope="module")
def template(template_json: dict[str, Any]) -> Template:
    return Template.from_json(template_json)


# --- Data ------------------------------------------------------------------------------------
def test_tables_have_the_key_schemas_the_code_uses(template_json: dict[str, Any]) -> None:
    # Given the table specs in constants (the code's contract)
    tables = resources(template_json, "AWS::DynamoDB::Table").values()
    schemas = {
        tuple((k["AttributeName"], k["KeyType"]) for k in t["Properties"]["KeySchema"]): t["Properties"]
        for t in tables
    }
    for spec in TABLE_SPECS.values():
        # Then each exists with its keys, GSIs (projection ALL) and TTL
        key = ((spec.partition_key, "HASH"),) + (((spec.sort_key, "RANGE"),) if spec.sort_key else ())
        assert key in schemas, f"no table with key {key}"
        properties = schemas[key]
        gsis = {
            g["IndexName"]: (g["KeySchema"][0]["AttributeName"], g["Projection"]["ProjectionType"])
            for g in properties.get("GlobalSecondaryIndexes", [])
        }
        assert gsis == {name: (pk, "ALL") for name, pk in spec.gsis}
        if spec.ttl_attribute:
            assert properties["TimeToLiveSpecification"] == {
                "AttributeName": spec.ttl_attribute,
                "Enabled": True,
            }
    assert DEVICES_DEVICE_ID_INDEX == "device_id-index"
    assert len(schemas) == len(TABLE_SPECS)


def test_every_table_is_on_demand_kms_encrypted_with_pitr(template: Template, env_name: str) -> None:
    template.all_resources_properties(
        "AWS::DynamoDB::Table",
        {
            "BillingMode": "PAY_PER_REQUEST",
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^KeysTables"), "Arn"]},
            },
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": env_config(env_name)["deletion_protection"],
        },
    )


def test_prod_protects_its_data_from_deletion(templates: dict[str, dict[str, Any]]) -> None:
    prod = Template.from_json(templates["prod"])
    prod.all_resources_properties("AWS::DynamoDB::Table", {"DeletionProtectionEnabled": True})
    prod.has_resource_properties("AWS::RDS::DBCluster", {"DeletionProtection": True})
    prod.has_resource_properties("AWS::Cognito::UserPool", {"DeletionProtection": "ACTIVE"})
    for _, table in resources(templates["prod"], "AWS::DynamoDB::Table").items():
        assert table["DeletionPolicy"] == "Retain"


def test_aurora_is_serverless_v2_encrypted_iam_auth_with_backups(template: Template, env_name: str) -> None:
    db = env_config(env_name)["db"]
    template.has_resource_properties(
        "AWS::RDS::DBCluster",
        {
            "Engine": "aurora-postgresql",
            "EngineVersion": Match.string_like_regexp(r"^1[7-9]\."),
            "StorageEncrypted": True,
            "KmsKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^KeysDatabase"), "Arn"]},
            "EnableIAMDatabaseAuthentication": True,
            "ManageMasterUserPassword": True,
            "BackupRetentionPeriod": db["backup_retention_days"],
            "ServerlessV2ScalingConfiguration": {"MinCapacity": db["min_acu"], "MaxCapacity": db["max_acu"]},
            "EnableCloudwatchLogsExports": ["postgresql"],
        },
    )
    template.all_resources_properties("AWS::RDS::DBInstance", {"DBInstanceClass": "db.serverless"})
    template.resource_count_is("AWS::RDS::DBInstance", 1 + db["readers"])


def test_rds_proxy_requires_tls_and_iam_end_to_end(template: Template) -> None:
    template.has_resource_properties(
        "AWS::RDS::DBProxy",
        {"RequireTLS": True, "DefaultAuthScheme": "IAM_AUTH", "EngineFamily": "POSTGRESQL"},
    )


def test_every_bucket_is_versioned_private_and_tls_only(template_json: dict[str, Any]) -> None:
    buckets = resources(template_json, "AWS::S3::Bucket")
    policies = [p["Properties"] for p in resources(template_json, "AWS::S3::BucketPolicy").values()]
    assert len(buckets) == 4
    for logical_id, bucket in buckets.items():
        properties = bucket["Properties"]
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}, logical_id
        assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
            ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
        ), logical_id
        assert "BucketEncryption" in properties, logical_id
        policy = next(p for p in policies if p["Bucket"] == {"Ref": logical_id})
        deny_insecure = [
            s
            for s in policy["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
            and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert deny_insecure, f"{logical_id} accepts plain HTTP"


def test_reports_and_receipts_are_kms_encrypted_and_receipts_are_locked_in_compliance_mode(
    template_json: dict[str, Any], env_name: str
) -> None:
    _, reports = one(template_json, "AWS::S3::Bucket", "ReportsBucket")
    _, receipts = one(template_json, "AWS::S3::Bucket", "ReceiptsBucket")
    for bucket in (reports, receipts):
        rule = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert receipts["Properties"]["ObjectLockEnabled"] is True
    assert receipts["Properties"]["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {
            "DefaultRetention": {
                "Mode": "COMPLIANCE",
                "Days": env_config(env_name)["receipts_retention_days"],
            }
        },
    }


def test_customer_keys_rotate(template_json: dict[str, Any]) -> None:
    for logical_id, key in resources(template_json, "AWS::KMS::Key").items():
        if key["Properties"].get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT":
            assert key["Properties"]["EnableKeyRotation"] is True, logical_id


# --- Stream ----------------------------------------------------------------------------------
def test_stream_is_encrypted_with_the_customer_key(template: Template, env_name: str) -> None:
    stream = env_config(env_name)["stream"]
    mode = "ON_DEMAND" if stream["mode"] == "on_demand" else "PROVISIONED"
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "StreamEncryption": {
                "EncryptionType": "KMS",
                "KeyId": {"Fn::GetAtt": [Match.string_like_regexp("^KeysStream"), "Arn"]},
            },
            "StreamModeDetails": {"StreamMode": mode},
            "RetentionPeriodHours": stream["retention_hours"],
        },
    )


def test_consumer_reports_partial_failures_bisects_and_bounds_retries_into_the_dlq(
    template: Template, template_json: dict[str, Any], env_name: str
) -> None:
    consumer = env_config(env_name)["consumer"]
    dlq_id, _ = one(template_json, "AWS::SQS::Queue", "ConsumerDlq")
    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "BisectBatchOnFunctionError": True,
            "MaximumRetryAttempts": consumer["retry_attempts"],
            "MaximumRecordAgeInSeconds": consumer["max_record_age_s"],
            "ParallelizationFactor": consumer["parallelization_factor"],
            "BatchSize": consumer["batch_size"],
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq_id, "Arn"]}}},
            # on the alias, so a canary deployment shifts the consumer too
            "FunctionName": Match.object_like({"Fn::Join": Match.array_with([Match.array_with([":live"])])}),
        },
    )
    assert 0 < consumer["retry_attempts"] <= 10
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("^KeysStream"), "Arn"]}},
    )


def test_event_bus_exists(template: Template) -> None:
    template.resource_count_is("AWS::Events::EventBus", 1)


# --- Auth ------------------------------------------------------------------------------------
def test_user_pool_requires_mfa_strong_passwords_and_admin_created_users(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "MfaConfiguration": "ON",  # Cognito has no per-group MFA; ON covers admin, dpo, auditor
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"},
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {
                        "MinimumLength": Match.any_value(),
                        "RequireLowercase": True,
                        "RequireNumbers": True,
                        "RequireSymbols": True,
                        "RequireUppercase": True,
                    }
                )
            },
            "Schema": Match.array_with(
                [Match.object_like({"Name": "tenant_id"}), Match.object_like({"Name": "employee_id"})]
            ),
        },
    )
    assert set(PRIVILEGED_GROUPS) <= set(USER_GROUPS)


def test_user_pool_has_the_five_groups_and_an_app_client_without_secret(
    template_json: dict[str, Any],
) -> None:
    groups = {
        g["Properties"]["GroupName"] for g in resources(template_json, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == set(USER_GROUPS)
    _, client = one(template_json, "AWS::Cognito::UserPoolClient")
    assert client["Properties"]["GenerateSecret"] is False
    assert client["Properties"]["PreventUserExistenceErrors"] == "ENABLED"


# --- APIs ------------------------------------------------------------------------------------
def test_agent_api_requires_mutual_tls_and_disables_the_default_endpoint(
    template_json: dict[str, Any],
) -> None:
    _, api = one(template_json, "AWS::ApiGateway::RestApi", "AgentApi")
    assert api["Properties"]["DisableExecuteApiEndpoint"] is True
    _, domain = one(template_json, "AWS::ApiGateway::DomainName", "AgentApi")
    truststore_bucket, _ = one(template_json, "AWS::S3::Bucket", "TruststoreBucket")
    assert domain["Properties"]["MutualTlsAuthentication"]["TruststoreUri"] == {
        "Fn::Join": ["", ["s3://", {"Ref": truststore_bucket}, "/truststore.pem"]]
    }
    assert domain["Properties"]["SecurityPolicy"] == "TLS_1_2"
    assert domain["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert any("Truststore" in d for d in domain.get("DependsOn", [])), "truststore uploaded first"


def test_admin_api_authorizes_every_method_with_cognito_and_uses_tls13(template_json: dict[str, Any]) -> None:
    _, api = one(template_json, "AWS::ApiGateway::RestApi", "AdminApi")
    assert api["Properties"]["DisableExecuteApiEndpoint"] is True
    authorizer_id, authorizer = one(template_json, "AWS::ApiGateway::Authorizer")
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    admin_methods = {
        k: v for k, v in resources(template_json, "AWS::ApiGateway::Method").items() if "AdminApi" in k
    }
    expected = sum(len(r.methods) for f in FUNCTIONS.values() if f.api == "admin" for r in f.routes)
    assert len(admin_methods) == expected
    for logical_id, method in admin_methods.items():
        assert method["Properties"]["AuthorizationType"] == "COGNITO_USER_POOLS", logical_id
        assert method["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}, logical_id
    _, domain = one(template_json, "AWS::ApiGateway::DomainName", "AdminApi")
    assert domain["Properties"]["SecurityPolicy"].startswith("SecurityPolicy_TLS13")
    assert domain["Properties"]["EndpointAccessMode"] == "STRICT"


def test_both_stages_throttle_log_access_trace_and_sit_behind_waf(
    template_json: dict[str, Any], env_name: str
) -> None:
    stages = resources(template_json, "AWS::ApiGateway::Stage")
    associations = [
        a["Properties"] for a in resources(template_json, "AWS::WAFv2::WebACLAssociation").values()
    ]
    assert len(stages) == 2
    for logical_id, stage in stages.items():
        api_config = env_config(env_name)["agent_api" if "Agent" in logical_id else "admin_api"]
        properties = stage["Properties"]
        assert properties["TracingEnabled"] is True
        assert "DestinationArn" in properties["AccessLogSetting"]
        method_settings = properties["MethodSettings"][0]
        assert method_settings["ThrottlingRateLimit"] == api_config["rate_limit"]
        assert method_settings["ThrottlingBurstLimit"] == api_config["burst_limit"]
        assert method_settings["LoggingLevel"] == "ERROR"
        assert method_settings["DataTraceEnabled"] is False  # bodies are personal data
        api_id = properties["RestApiId"]["Ref"]
        assert any(api_id in json.dumps(a["ResourceArn"]) for a in associations), f"{logical_id} has no WAF"


def test_agent_waf_blocks_bodies_over_one_mib(template_json: dict[str, Any]) -> None:
    _, acl = one(template_json, "AWS::WAFv2::WebACL", "AgentApi")
    rule = next(r for r in acl["Properties"]["Rules"] if r["Name"] == "BodyLargerThanOneMiB")
    pattern = re.compile(rule["Statement"]["RegexMatchStatement"]["RegexString"])
    # answered as API.md says (413 payload_too_large), not with WAF's 403
    assert rule["Action"] == {
        "Block": {"CustomResponse": {"ResponseCode": 413, "CustomResponseBodyKey": "payload_too_large"}}
    }
    for size in (0, 1, 999_999, ONE_MIB - 1, ONE_MIB):
        assert not pattern.match(str(size)), size
    for size in (ONE_MIB + 1, 1_048_600, 1_049_000, 1_100_000, 9_999_999, 10_485_760, 123_456_789):
        assert pattern.match(str(size)), size


def test_waf_blocks_that_api_md_names_answer_its_status_and_error_body(template_json: dict[str, Any]) -> None:
    # An agent reads 403 as "stop collecting": a rate limit must say 429 and a large batch 413.
    acls = resources(template_json, "AWS::WAFv2::WebACL")
    assert len(acls) == 2
    for logical_id, acl in acls.items():
        props = acl["Properties"]
        bodies = {
            key: json.loads(body["Content"])
            for key, body in props["CustomResponseBodies"].items()
            if body["ContentType"] == "APPLICATION_JSON"
        }
        rate = next(r for r in props["Rules"] if r["Name"] == "RateLimitPerIp")
        answer = rate["Action"]["Block"]["CustomResponse"]
        assert answer["ResponseCode"] == 429, logical_id
        assert bodies[answer["CustomResponseBodyKey"]]["error"]["code"] == "rate_limited"
        for body in bodies.values():
            assert set(body["error"]) == {"code", "message", "request_id"}, logical_id
        for rule in props["Rules"]:
            if "Block" in rule.get("Action", {}) and rule["Action"]["Block"]:
                key = rule["Action"]["Block"]["CustomResponse"]["CustomResponseBodyKey"]
                assert key in bodies, (logical_id, rule["Name"])


def test_agent_bodies_are_validated_by_ingest_api_with_api_md_s_answers(
    template_json: dict[str, Any],
) -> None:
    # API Gateway's body validation answers malformed JSON and a schema failure alike; API.md
    # has 400 invalid_json and 422 validation_error, so the handler validates (1 to 1,000 events).
    from functions.ingest_api.settings import IngestApiSettings

    assert not [k for k in resources(template_json, "AWS::ApiGateway::Model") if "AgentApi" in k]
    (post,) = [
        m["Properties"]
        for k, m in resources(template_json, "AWS::ApiGateway::Method").items()
        if k.startswith("AgentApi") and m["Properties"]["HttpMethod"] == "POST"
    ]
    assert "RequestModels" not in post
    assert IngestApiSettings.model_fields["max_events"].default == 1000


# --- Functions -------------------------------------------------------------------------------
def test_every_registered_function_is_wired_through_the_one_helper(
    template_json: dict[str, Any], env_name: str
) -> None:
    functions = project_functions(template_json)
    assert len(functions) == len(FUNCTIONS)
    layer_id, _ = one(template_json, "AWS::Lambda::LayerVersion", "SharedLayer")
    for logical_id, function in functions.items():
        properties = function["Properties"]
        variables = properties["Environment"]["Variables"]
        name = variables["POWERTOOLS_SERVICE_NAME"]
        assert properties["Architectures"] == ["arm64"], logical_id
        assert properties["Runtime"] == f"python{PYTHON_VERSION}", logical_id
        assert properties["Handler"] == f"functions.{name}.handler.lambda_handler"
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert properties["Layers"] == [{"Ref": layer_id}]
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "WorkforceMonitoring"
        reserved = env_config(env_name)["reserved_concurrency"].get(name)
        assert properties.get("ReservedConcurrentExecutions") == reserved, name
        assert ("VpcConfig" in properties) == FUNCTIONS[name].in_vpc, name


def test_the_newest_python_runtime_is_used() -> None:
    from aws_cdk import aws_lambda

    newest = max(
        (v for v in dir(aws_lambda.Runtime) if re.fullmatch(r"PYTHON_3_\d+", v)),
        key=lambda v: int(v.split("_")[2]),
    )
    assert newest == f"PYTHON_{PYTHON_VERSION.replace('.', '_')}"


def test_function_logs_have_the_configured_retention(template_json: dict[str, Any], env_name: str) -> None:
    retention = env_config(env_name)["log_retention_days"]
    for logical_id, function in project_functions(template_json).items():
        log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert template_json["Resources"][log_group_id]["Properties"]["RetentionInDays"] == retention, (
            logical_id
        )


def test_functions_get_the_environment_of_the_contract(template_json: dict[str, Any]) -> None:
    contract = {
        "ingest_api": {"DEVICES_TABLE", "CONSENT_TABLE", "TENANTS_TABLE", "EVENTS_STREAM_NAME"},
        "ingest_stream": {
            "CONSENT_TABLE",
            "DATA_KEYS_TABLE",
            "DATA_KEY_KMS_KEY_ARN",
            "EVENT_BUS_NAME",
            "DB_HOST",
            "DB_PORT",
            "DB_NAME",
            "DB_USER",
            "DB_IAM_AUTH",
        },
        "db_migrate": {
            "DB_HOST",
            "DB_PORT",
            "DB_NAME",
            "DB_USER",
            "DB_IAM_AUTH",
            "DB_BOOTSTRAP_HOST",
            "DB_BOOTSTRAP_SECRET_ARN",
            "DB_FUNCTION_USERS",
        },
    }
    for name, variables in contract.items():
        _, function = function_named(template_json, name)
        environment = function["Properties"]["Environment"]["Variables"]
        assert variables <= set(environment), name
        if "DB_HOST" in variables:
            assert environment["DB_IAM_AUTH"] == "true"
            assert (
                environment["DB_HOST"] == {"Fn::GetAtt": [Match.any_value(), "Endpoint"]}
                or "Fn::GetAtt" in (environment["DB_HOST"])
            )


def test_every_required_setting_of_a_function_is_in_its_environment(template_json: dict[str, Any]) -> None:
    # The settings models are the functions' own statement of what they need: no drift allowed.
    import importlib

    from infra_cdk.constants import FUNCTIONS_DIR, existing_functions

    for name in existing_functions(FUNCTIONS_DIR):
        settings_module = importlib.import_module(f"functions.{name}.settings")
        models = [
            v
            for v in vars(settings_module).values()
            if isinstance(v, type) and v.__module__ == settings_module.__name__ and hasattr(v, "model_fields")
        ]
        assert models, f"functions/{name}/settings.py defines no settings model"
        (model,) = models
        required = {field.upper() for field, info in model.model_fields.items() if info.is_required()}
        _, function = function_named(template_json, name)
        assert required <= set(function["Properties"]["Environment"]["Variables"]), name
    _, migrate = function_named(template_json, "db_migrate")
    assert "wm_ingest" in migrate["Properties"]["Environment"]["Variables"]["DB_FUNCTION_USERS"].split(",")


def test_the_events_the_functions_publish_are_the_ones_the_infrastructure_routes() -> None:
    # A rule on another source or detail-type would never match: no drift allowed.
    from functions.consent_api import models as consent
    from functions.ingest_stream import logic as ingest
    from infra_cdk import constants

    assert (consent.EVENT_SOURCE, consent.CONSENT_WITHDRAWN) == (
        constants.CONSENT_SOURCE,
        constants.CONSENT_WITHDRAWN,
    )
    assert (ingest.SOURCE, ingest.DETAIL_TYPE) == (constants.INGESTION_SOURCE, constants.ACTIVITY_STORED)


def test_the_api_routes_are_exactly_what_each_function_serves() -> None:
    # The CDK routes a request to a function; the function's resolver must serve it (and no more).
    import importlib
    import re

    from infra_cdk.constants import FUNCTIONS, FUNCTIONS_DIR, existing_functions

    for name in existing_functions(FUNCTIONS_DIR):
        spec = FUNCTIONS[name]
        if spec.api is None:
            continue
        app = importlib.import_module(f"functions.{name}.handler").app
        served = {
            (route.method, re.sub(r"<(\w+)>", r"{\1}", route.path))
            for route in [*app._static_routes, *app._dynamic_routes]
        }
        declared = {(method, route.path) for route in spec.routes for method in route.methods}
        assert served == declared, name


def _actions(statements: list[dict[str, Any]]) -> set[str]:
    return {action for statement in statements for action in as_list(statement["Action"])}


def test_no_function_has_wildcard_actions_on_data_stores(template_json: dict[str, Any]) -> None:
    for logical_id, function in project_functions(template_json).items():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        for action in _actions(policy_statements_of_role(template_json, role)):
            service = action.split(":")[0]
            if service in DATA_STORE_SERVICES:
                assert "*" not in action, f"{logical_id}: {action}"


def test_ingest_api_may_only_read_its_tables_and_put_records(template_json: dict[str, Any]) -> None:
    logical_id, function = function_named(template_json, "ingest_api")
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = policy_statements_of_role(template_json, role)
    assert _actions(statements) == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "dynamodb:GetItem",
        "kms:Decrypt",
        "kinesis:PutRecords",
        "kms:GenerateDataKey",
    }, logical_id
    dynamo = next(s for s in statements if "dynamodb:GetItem" in as_list(s["Action"]))
    tables = {json.dumps(r) for r in as_list(dynamo["Resource"])}
    assert len(tables) == 3  # devices, consent, tenants: the tables only, no index
    assert not any("/index/" in t for t in tables)


def test_ingest_stream_grants_match_its_job(template_json: dict[str, Any]) -> None:
    _, function = function_named(template_json, "ingest_stream")
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = policy_statements_of_role(template_json, role)
    actions = _actions(statements)
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "events:PutEvents", "rds-db:connect"} <= actions
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= actions
    assert not {
        a for a in actions if a.startswith("dynamodb:") and a not in {"dynamodb:GetItem", "dynamodb:PutItem"}
    }
    subject_key = next(
        s for s in statements if any("KeysSubjectDataKeys" in json.dumps(r) for r in as_list(s["Resource"]))
    )
    assert set(as_list(subject_key["Action"])) == {"kms:GenerateDataKey", "kms:Decrypt"}
    connect = next(s for s in statements if s["Action"] == "rds-db:connect")
    assert "wm_ingest" in json.dumps(connect["Resource"])


def test_migrations_run_on_deploy_after_the_database_exists(template_json: dict[str, Any]) -> None:
    _, trigger = one(template_json, "Custom::Trigger")
    depends_on = " ".join(trigger.get("DependsOn", []))
    assert "DataCluster" in depends_on
    assert "DataProxy" in depends_on
    migrate_id, _ = function_named(template_json, "db_migrate")
    assert f"{migrate_id[:-8]}CurrentVersion" in json.dumps(trigger["Properties"])  # the deployed version


# --- Schedules, deployment, observability ----------------------------------------------------
def test_audit_checkpoints_are_scheduled(template: Template) -> None:
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {"ScheduleExpression": FUNCTIONS["audit_checkpoint"].schedule, "State": "ENABLED"},
    )


def test_canary_deployments_roll_back_on_alarm_where_configured(
    template_json: dict[str, Any], env_name: str
) -> None:
    groups = resources(template_json, "AWS::CodeDeploy::DeploymentGroup")
    if not env_config(env_name)["canary"]:
        assert not groups
        return
    assert len(groups) == len(FUNCTIONS) - 1  # all but db_migrate
    for logical_id, group in groups.items():
        properties = group["Properties"]
        assert properties["DeploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
        assert properties["AlarmConfiguration"]["Enabled"] is True, logical_id
        assert "DEPLOYMENT_STOP_ON_ALARM" in properties["AutoRollbackConfiguration"]["Events"]


def test_prod_canaries() -> None:
    assert env_config("prod")["canary"] is True


def test_alarms_cover_the_architecture_and_notify_the_topic(
    template_json: dict[str, Any], env_name: str
) -> None:
    alarms = [a["Properties"] for a in resources(template_json, "AWS::CloudWatch::Alarm").values()]
    topic_id, topic = one(template_json, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" in topic["Properties"]
    notifying = [a for a in alarms if {"Ref": topic_id} in a.get("AlarmActions", [])]

    def find(metric: str, **extra: Any) -> dict[str, Any]:
        found = [a for a in notifying if a.get("MetricName") == metric and extra.items() <= a.items()]
        assert found, f"no alarm on {metric} {extra}"
        return found[0]

    assert find("Latency", ExtendedStatistic="p95")["Threshold"] == 500
    find("5XXError")
    find("Errors")
    find("Throttles")
    assert find("IteratorAge")["Threshold"] == 60_000
    dlq = find("ApproximateNumberOfMessagesVisible")
    assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    auth = [a for a in notifying if "AuthorizationFailures" in json.dumps(a.get("Metrics", []))]
    assert len(auth) == 1, "one alarm sums authorisation failures over the API functions"
    services = {
        d["Value"]
        for m in auth[0]["Metrics"]
        if "MetricStat" in m
        for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "service"
    }
    assert services == {name for name, spec in FUNCTIONS.items() if spec.api}
    sla_hours = env_config(env_name)["purge_sla_hours"]
    assert find("OldestOpenPurgeAgeSeconds")["Threshold"] == sla_hours * 3600
    assert find("AnalyticsRollupLagSeconds")["Threshold"] == 15 * 60
    subscriptions = [s["Properties"] for s in resources(template_json, "AWS::SNS::Subscription").values()]
    assert {"Protocol": "email", "Endpoint": env_config(env_name)["alarm_email"]}.items() <= subscriptions[
        0
    ].items()
    assert resources(template_json, "AWS::CloudWatch::Dashboard")


# --- Network ---------------------------------------------------------------------------------
def test_vpc_has_private_subnets_and_endpoints_but_no_nat_or_internet_gateway(
    template_json: dict[str, Any],
) -> None:
    assert not resources(template_json, "AWS::EC2::NatGateway")
    assert not resources(template_json, "AWS::EC2::InternetGateway")
    subnets = resources(template_json, "AWS::EC2::Subnet").values()
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)
    services = {
        json.dumps(e["Properties"]["ServiceName"]).split(".")[-1].strip('"]}')
        for e in resources(template_json, "AWS::EC2::VPCEndpoint").values()
    }
    assert {"s3", "dynamodb", "kms", "events", "secretsmanager", "xray"} <= services


def test_api_gateway_answers_its_own_errors_in_the_api_s_error_shape(template_json: dict[str, Any]) -> None:
    # Every error API Gateway answers itself (no route, no token, too large, throttled, ...) has
    # the body of API.md; an unknown route is a 404 not_found, as the local gateways answer it.
    apis = resources(template_json, "AWS::ApiGateway::RestApi")
    answers = resources(template_json, "AWS::ApiGateway::GatewayResponse")
    by_api: dict[str, dict[str, dict[str, Any]]] = {}
    for answer in answers.values():
        props = answer["Properties"]
        by_api.setdefault(props["RestApiId"]["Ref"], {})[props["ResponseType"]] = props
    assert set(by_api) == set(apis)
    for api, responses in by_api.items():
        for kind in ("MISSING_AUTHENTICATION_TOKEN", "RESOURCE_NOT_FOUND"):
            assert responses[kind]["StatusCode"] == "404", (api, kind)
            body = json.loads(responses[kind]["ResponseTemplates"]["application/json"])
            assert body["error"]["code"] == "not_found"
            assert body["error"]["message"] == "No route matches this method and path."
        for kind, props in responses.items():
            # $context.error.messageString is itself a quoted JSON string when API Gateway fills it
            filled = props["ResponseTemplates"]["application/json"].replace(
                "$context.error.messageString", '"Too Many Requests"'
            )
            body = json.loads(filled.replace("$context.requestId", "r-1"))
            assert set(body) == {"error"}, (api, kind)
            assert set(body["error"]) == {"code", "message", "request_id"}, (api, kind)
