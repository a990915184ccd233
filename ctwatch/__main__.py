"""Entry point for `python -m ctwatch`."""

from ctwatch.cli import main

raise SystemExit(main())
