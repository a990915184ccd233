"""The bundled recorded incident that `ctwatch --demo` plays (incident.jsonl.gz)."""
