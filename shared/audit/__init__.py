"""Audit: every access to personal data, in a log nobody can quietly change.

- ``model``: what an entry says (``AuditEntry``: actor, action, resource, subject, purpose,
  outcome, request id, time).
- ``recorder``: ``AuditRecorder.record(conn, entry)`` appends in the caller's transaction, so an
  access and its entry commit together or not at all (``AuditUnavailable`` otherwise).
- ``canonical``: the versioned, length-prefixed canonical form and
  ``hash = SHA-256(canonical || prev_hash)``; one chain per tenant, gap-free ``seq``.
- ``checkpoint``: KMS-signed statements of every chain head, chained to each other, written
  once to the Object-Lock bucket.
- ``verify``: recomputes everything with the public key only; ``python -m shared.audit.verify``.

Purge and the chain. The log never stores the subject employee's id: an entry carries
``subject_ref``, a random pseudonym from ``audit_subjects`` (outside the chain), and free text
about the subject only as ``detail_enc``, AES-GCM under the subject's data key. The hash covers
the pseudonym and the ciphertext. Purging a person deletes their ``audit_subjects`` row and
destroys their data key (as the purge does anyway): the entries stay, every hash still
verifies, and nothing left in the log can be linked back to them. ``action``, ``purpose`` are
codes, ``resource`` must not contain the subject's id, and a person reading their own data is
stored as actor ``self``; actors otherwise stay in clear (staff accountability outlives the
subject's erasure; device ids are random and their registry entry goes with the purge).
"""

from shared.audit.model import Actor, ActorType, AuditEntry, Outcome
from shared.audit.recorder import AuditRecorder, Recorded

__all__ = ["Actor", "ActorType", "AuditEntry", "AuditRecorder", "Outcome", "Recorded"]
