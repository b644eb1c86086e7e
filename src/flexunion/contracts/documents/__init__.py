"""条款文书 Clause versions in force as signed documents (JWS), and their verification."""
