"""Drive the real `ctwatch` in a private tmux server at 80x24 for the hostile TUI sample."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time

from hostile.check import MEMORY_KIB

SENTINEL = "hostile-title-sentinel"
# What capture-pane -e may hold: SGR colour/attribute sequences, nothing else.
SGR = re.compile(r"\x1b\[[0-9;:]*m")


class Pane:
    """One command in its own tmux server (`-L`), started after the pane title is set, so
    a title the command sets is seen; the shell prints EXIT=<status> when it ends."""

    def __init__(self, argv: list, workdir: str, size=(80, 24)) -> None:
        self.socket = f"ctwhostile-{os.getpid()}-{time.monotonic_ns()}"
        go = os.path.join(workdir, "go")
        script = os.path.join(workdir, "run.sh")
        with open(script, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(
                f"while [ ! -e {shlex.quote(go)} ]; do sleep 0.05; done\n"
                f"ulimit -v {MEMORY_KIB}\n"
                f"{' '.join(shlex.quote(a) for a in argv)}\n"
                "echo EXIT=$?\nsleep 120\n"
            )
        self.tmux("new-session", "-d", "-s", "h", "-x", str(size[0]), "-y", str(size[1]),
                  f"sh {shlex.quote(script)}")  # fmt: skip
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        self.tmux("select-pane", "-t", "h", "-T", SENTINEL)
        open(go, "w").close()

    def tmux(self, *args: str) -> str:
        proc = subprocess.run(["tmux", "-f", "/dev/null", "-L", self.socket, *args],
                              capture_output=True, timeout=30)  # fmt: skip
        return proc.stdout.decode("utf-8", "surrogateescape")

    def screen(self, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "h")

    def title(self) -> str:
        return self.tmux("display-message", "-p", "-t", "h", "#{pane_title}").strip()

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "h", *keys)

    def resize(self, width: int, height: int) -> None:
        self.tmux("resize-window", "-t", "h", "-x", str(width), "-y", str(height))

    def wait(self, predicate, timeout: float = 20.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate(self.screen()):
                return True
            time.sleep(0.2)
        return False

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        if os.path.basename(self.socket_path) == self.socket:  # ours, never another's
            try:
                os.remove(self.socket_path)
            except OSError:
                pass


def screen_problems(pane: Pane, when: str) -> list:
    """A traceback on screen, a changed title, or escapes other than SGR in the pane."""
    found = []
    text = pane.screen()
    if "Traceback" in text:
        found.append(f"{when}: traceback on screen")
    if "display error" in text:
        found.append(f"{when}: a part of the screen failed to draw ('display error')")
    title = pane.title()
    if title != SENTINEL:
        found.append(f"{when}: terminal title changed to {title!r}")
    other = SGR.sub("", pane.screen(escapes=True))
    bad = sorted({c for c in other if ord(c) < 32 and c not in "\n\t" or 0x7F <= ord(c) <= 0x9F})
    if bad:
        found.append(f"{when}: control bytes other than SGR in the pane: {bad!r}")
    return found
