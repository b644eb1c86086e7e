"""Membership: the worker's own records (consents today; joining and e-membership next)."""
