"""contrib/systemd/ctwatch.service: valid, hardened, and its capabilities really read the table."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parent.parent / "contrib" / "systemd" / "ctwatch.service"
CTWATCH = Path(sys.executable).parent / "ctwatch"
NOBODY = "65534"
# Sets the kernel's memory-deny-write-execute (Linux 6.3+), inherited across exec: what
# MemoryDenyWriteExecute=yes enforces, so a ctwatch that needs W+X memory fails here.
MDWE = (
    "import ctypes, os, sys\n"
    "if ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) != 0: sys.exit('no PR_SET_MDWE')\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)


def unit_values(key: str, text: str = "") -> list:
    """Every value of `key=` in the unit (or in `text`), split on spaces."""
    values = re.findall(rf"^{key}=(.*)$", text or UNIT.read_text(), re.M)
    return [v for line in values for v in line.split()]


def analyze(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze not installed (apt install systemd)")
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60)


def installed_unit(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's ctwatch (verify checks it exists)."""
    path = tmp_path / UNIT.name
    path.write_text(UNIT.read_text().replace("/opt/ctwatch/bin/ctwatch", str(CTWATCH)))
    return path


def test_unit_verifies_without_a_warning(tmp_path):
    proc = analyze("verify", str(installed_unit(tmp_path)))
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr


def test_unit_is_hardened(tmp_path):
    """systemd's own exposure score stays at 2.0 or below ("OK"); the unit's comments say
    why the remaining exposures (host network, /proc, one capability) must stay."""
    proc = analyze("security", "--offline=true", "--threshold=20", str(installed_unit(tmp_path)))
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr


def test_unit_runs_without_root_and_with_one_capability():
    assert unit_values("DynamicUser") == ["yes"]
    assert unit_values("AmbientCapabilities") == ["CAP_DAC_READ_SEARCH"]
    assert unit_values("CapabilityBoundingSet") == ["CAP_DAC_READ_SEARCH"]
    assert unit_values("ExecStart")[1] == "--serve"


def _as_service_user(caps: list, argv: list) -> list:
    """argv run as uid 65534 with exactly `caps` (ambient, bounded), no new privileges."""
    names = ",".join("+" + c.lower().replace("cap_", "") for c in caps)
    setpriv = [
        "setpriv",
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        "--no-new-privs",
        "--bounding-set=-all" + ("," + names if names else ""),
        "--inh-caps=-all" + ("," + names if names else ""),
        "--ambient-caps=-all" + ("," + names if names else ""),
    ]
    return [*setpriv, *argv]


def _mdwe_available() -> bool:
    probe = subprocess.run([sys.executable, "-c", MDWE, "/bin/true"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture
def service_user():
    """Skips where uid 65534 cannot run this checkout's ctwatch at all (a private home)."""
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv not installed (apt install util-linux)")
    probe = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", str(CTWATCH), "-h"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"uid {NOBODY} cannot run {CTWATCH}: {probe.stderr.strip()[-200:]}")


def _once(lab, caps: list, *args: str, in_lab: bool = True) -> dict:
    argv = _as_service_user(caps, [str(CTWATCH), "--once", "--json", *args])
    if in_lab:
        proc = lab.run(argv, check=False, timeout=120)
    else:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if not proc.stdout.strip().startswith("{"):
        return {"table_error": proc.stderr.strip() or f"exit {proc.returncode}"}
    return json.loads(proc.stdout)


def test_the_units_capability_reads_a_real_table(lab, service_user):
    lab.fill_udp(300)
    caps = unit_values("AmbientCapabilities")
    got = _once(lab, caps)
    assert got["table_error"] is None
    assert abs(got["entries"] - lab.count()) <= 2 and got["entries"] > 50
    denied = _once(lab, [])
    assert "permission denied" in denied["table_error"]
    assert "entries" not in denied or denied["entries"] in (None, 0)


def test_pid_needs_nothing_more_and_netns_needs_the_dropin(lab, service_user):
    lab.fill_udp(300)
    holder = lab.popen(["sleep", "120"], what="namespace holder")
    caps = unit_values("AmbientCapabilities")
    by_pid = _once(lab, caps, "--pid", str(holder.pid), in_lab=False)
    assert by_pid["table_error"] is None and by_pid["entries"] > 50
    by_name = _once(lab, caps, "--netns", lab.name, in_lab=False)
    assert "cannot enter namespace" in by_name["table_error"]
    dropin = "\n".join(ln.lstrip("# ") for ln in UNIT.read_text().splitlines())
    more = unit_values("AmbientCapabilities", dropin)
    assert more == [*caps, "CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN"]
    by_name = _once(lab, more[1:], "--netns", lab.name, in_lab=False)
    assert by_name["table_error"] is None and by_name["entries"] > 50


def test_ctwatch_runs_without_writable_executable_memory(lab):
    """MemoryDenyWriteExecute=yes: ctwatch (ctypes included) must not need W+X memory.
    Run as root here: the capability tests above cover the user."""
    if not _mdwe_available():
        pytest.skip("kernel without PR_SET_MDWE (Linux 6.3+)")
    code = "import mmap; mmap.mmap(-1, 4096, prot=7)"  # PROT_READ|WRITE|EXEC
    refused = subprocess.run(
        [sys.executable, "-c", MDWE, sys.executable, "-c", code], capture_output=True
    )
    assert refused.returncode != 0, "the stand-in does not refuse W+X memory"
    lab.fill_udp(300)
    argv = [sys.executable, "-c", MDWE, str(CTWATCH), "--once", "--json", "--netns", lab.name]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["table_error"] is None and got["entries"] > 50
