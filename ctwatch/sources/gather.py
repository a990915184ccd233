"""The child that reads a virtual /proc file for us: dd gathering the kernel's page-sized
reads into 256 KiB writes, or cat where no dd takes those options."""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from typing import Optional

# The kernel prints the table one page (4 KiB) per read(); cat writes each page into the
# pipe at once, waking the parser ten thousand times per 250k entries. Measured on a real
# 250k table (kernel 6.18, 2 cores): draining the pipe took 0.54 s after cat, 0.40 s
# after dd (cat to /dev/null: 0.32 s); the whole scan 1.83x cat with cat, 1.53x with dd.
BLOCK = "256K"


@lru_cache(maxsize=1)
def gathering_reader() -> Optional[tuple]:
    """argv of a dd copying stdin (or a trailing if=PATH) in BLOCK writes; None when this
    system's dd lacks iflag=fullblock or status=none (old busybox): use cat then."""
    dd = shutil.which("dd")
    if dd is None:
        return None
    argv = (dd, f"bs={BLOCK}", "iflag=fullblock", "status=none")
    try:
        probe = subprocess.run(
            [*argv, "if=/dev/null", "of=/dev/null"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return argv if probe.returncode == 0 else None
