"""Auth: the Cognito user pool of the people who use the admin API."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra_cdk.constants import USER_GROUPS

if TYPE_CHECKING:
    from infra_cdk.config import EnvironmentConfig


class Auth(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.user_pool = self._add_user_pool()
        self._add_groups()
        self.client = self._add_client()

    def _add_user_pool(self) -> cognito.UserPool:
        # Cognito cannot require MFA for some groups only; requiring it for every user is the
        # only setting that guarantees it for admin, dpo and auditor.
        return cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            custom_attributes={
                "tenant_id": cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
                "employee_id": cognito.StringAttribute(min_len=1, max_len=64, mutable=False),
            },
            deletion_protection=self._config.deletion_protection,
            removal_policy=RemovalPolicy.RETAIN
            if self._config.deletion_protection
            else RemovalPolicy.DESTROY,
        )

    def _add_groups(self) -> None:
        for group in USER_GROUPS:
            self.user_pool.add_group(f"{group.capitalize()}Group", group_name=group)

    def _add_client(self) -> cognito.UserPoolClient:
        return self.user_pool.add_client(
            "AdminApiClient",
            auth_flows=cognito.AuthFlow(user_srp=True),
            generate_secret=False,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),
            read_attributes=cognito.ClientAttributes()
            .with_standard_attributes(email=True, email_verified=True)
            .with_custom_attributes("tenant_id", "employee_id"),
            write_attributes=cognito.ClientAttributes().with_standard_attributes(email=True),
        )
