"""Small shared pieces: caller context, errors, unit of work, idempotency, pagination, clock."""
