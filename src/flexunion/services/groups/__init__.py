"""分层分类: service groups evaluated from data (docs/services.md)."""
