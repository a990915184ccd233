"""ctwatch: a terminal monitor for Linux netfilter connection tracking."""

__version__ = "0.1.0"

import logging as _logging

# Problems go to the live monitor's log file, or into the answers (--once prints those):
# never to stderr through logging's last-resort handler.
_logging.getLogger("ctwatch").addHandler(_logging.NullHandler())
