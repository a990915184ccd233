"""--once output: text, JSON and CSV renderings of one Answers."""
