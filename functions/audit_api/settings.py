from __future__ import annotations

from shared.audit.checkpoint import DEFAULT_PREFIX
from shared.auth.settings import AdminApiSettings


class AuditApiSettings(AdminApiSettings):
    audit_checkpoint_bucket: str  # read-only here: the latest checkpoint is checked by /v1/audit/verify
    audit_signing_key_id: str  # only its PUBLIC key is fetched (kms:GetPublicKey), once per container
    audit_checkpoint_prefix: str = DEFAULT_PREFIX
