"""Source layer: read conntrack counters and tables from procfs, conntrack(8) or a namespace."""
