"""Database access: engines, per-transaction RLS scope and its read-back (rls.py), base
model and tenancy mixin, shared session calls (rows.py), embedded PostgreSQL, migrations,
retention, and the model registry."""
