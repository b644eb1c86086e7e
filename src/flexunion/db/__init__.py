"""Database access: engines, per-request sessions, tenant scope for RLS, embedded PostgreSQL."""
