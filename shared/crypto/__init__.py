"""Field-level encryption: per-subject data keys (wrapped by KMS via the AWS Encryption SDK) and AES-GCM fields."""
