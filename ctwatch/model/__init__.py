"""Model layer: parsed entries, one-pass aggregation, snapshots. Never imports textual."""
