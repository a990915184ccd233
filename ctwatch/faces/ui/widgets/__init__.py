"""The widgets the screens are made of: panels, tables, gauge, graph, lines."""
