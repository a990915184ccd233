"""The Prometheus face: `--serve` (HTTP /metrics) and `--textfile` (node_exporter's collector)."""
