"""协议 Agreements with platform partners, their versions and annex clauses."""
