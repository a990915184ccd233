"""ctwatch: a terminal monitor for Linux netfilter connection tracking."""

__version__ = "0.1.0"
