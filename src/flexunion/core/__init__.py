"""Small shared pieces: caller context, http presets, errors and problems, unit of work,
idempotency, pagination, clock (Beijing time), working days, outbox."""
