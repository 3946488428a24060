"""People's API security core: token verification (``tokens``, ``jwks``), the principal and its
roles (``principal``), resource-level scope and denials (``policy``), and the PostgreSQL adapters
that answer scope questions (``directory``)."""
