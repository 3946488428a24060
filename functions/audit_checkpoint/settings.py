from __future__ import annotations

from pydantic import Field

from shared.audit.checkpoint import DEFAULT_PREFIX
from shared.settings import DbSettings


class AuditCheckpointSettings(DbSettings):
    audit_signing_key_id: str  # the KMS asymmetric key (ECC_NIST_P256, SIGN_VERIFY)
    audit_checkpoint_bucket: str  # the Object-Lock bucket (receipts & checkpoints)
    audit_checkpoint_retention_days: int = Field(ge=1)  # compliance-mode retention of each object
    audit_checkpoint_prefix: str = DEFAULT_PREFIX
