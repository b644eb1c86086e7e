"""Cross-city relationship transfer (异地关系接转): one home, moved between regions."""
