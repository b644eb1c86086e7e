"""工作日历: the federation's working calendar and the pure working-time engine
(docs/calendar.md)."""
