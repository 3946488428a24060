"""PostgreSQL access: a pool per container (psycopg 3), migrations, repositories."""
