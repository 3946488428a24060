"""DynamoDB repositories. Key schemas (the CDK tables declare the same):

- devices:   PK ``cert_key`` (S) = sha256(issuer DN + serial); GSI ``device_id-index`` on ``device_id``.
- consent:   PK ``pk`` (S) = ``TENANT#<t>#EMP#<e>``, SK ``sk`` (S) = ``CURRENT`` | ``HIST#<ts>#<id>``;
             policies: PK ``TENANT#<t>#POLICY``, SK ``VERSION#<v>``.
- tenants:   PK ``tenant_id`` (S): per-tenant settings (retention, minimum group size, upload interval).
- data_keys: PK ``subject`` (S) = ``<tenant>#<employee>``: the subject's wrapped data key.
"""
