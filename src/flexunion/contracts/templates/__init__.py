"""条款模板 HQ's clause templates: the five union clauses and the bargaining outcomes."""
