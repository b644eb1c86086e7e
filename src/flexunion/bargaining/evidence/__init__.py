"""证据附件 Evidence on items and reports; bytes in an `EvidenceStore`."""
