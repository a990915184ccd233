"""`--once --json` incident fields and `--once --csv` on the captured sample trees."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "sample_proc"


def ctwatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ctwatch", *args], capture_output=True, text=True, timeout=60
    )


def test_synflood_json_answers_why_the_table_is_full():
    out = ctwatch("--once", "--json", "--rate-window", "0", "--root", str(SAMPLES / "synflood"))
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["count"] == d["max"]
    assert d["kernel_log"]["table_full"] > 0
    assert d["kernel_log"]["problem"] is None
    assert d["kernel_log"]["netns"], "the current kernel names the namespace"
    keys = [item["key"] for item in d["advice"]["items"]]
    assert keys[0] == "drops" and "max" in keys
    max_item = next(i for i in d["advice"]["items"] if i["key"] == "max")
    assert "alone" in max_item["reasoning"]
    syn = d["expiry"]["tcp/SYN_RECV"]
    assert sum(syn[b] for b in ("<=10s", "<=60s", "<=5min", "later")) == d["by_state"]["SYN_RECV"]
    assert syn["sysctl"] == "net.netfilter.nf_conntrack_tcp_timeout_syn_recv"
    assert sum(d["by_src_subnet"].values()) <= d["entries"]


def test_rates_and_forecast_over_a_window():
    out = ctwatch("--once", "--json", "--rate-window", "0.2", "--root", str(SAMPLES / "synflood"))
    d = json.loads(out.stdout)
    assert d["rate_window"] >= 0.2
    assert d["rates"]["growth"] == 0.0  # a sample tree does not change between readings
    assert d["forecast"]["kind"] == "full"  # count == max
    calm = json.loads(
        ctwatch("--once", "--json", "--rate-window", "0.1", "--root", str(SAMPLES / "calm")).stdout
    )
    assert calm["forecast"]["kind"] == "steady"


def test_csv_has_every_breakdown_with_shares():
    out = ctwatch("--once", "--csv", "--top", "0", "--root", str(SAMPLES / "mixed"))
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    d = json.loads(
        ctwatch(
            "--once", "--json", "--top", "0", "--rate-window", "0", "--root", str(SAMPLES / "mixed")
        ).stdout
    )
    by_dim: dict = {}
    for r in rows:
        by_dim.setdefault(r["dimension"], {})[r["key"]] = int(r["count"])
    assert by_dim["proto"] == d["by_proto"]
    assert by_dim["src"] == d["by_src"]
    assert abs(sum(float(r["share"]) for r in rows if r["dimension"] == "proto") - 1.0) < 1e-3


def test_csv_and_json_are_exclusive_and_need_once():
    assert ctwatch("--once", "--csv", "--json").returncode == 2
    assert ctwatch("--csv").returncode == 2


GROWING_SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.7", 0))
print("ready", flush=True)
port = 20000
end = time.monotonic() + 20
while time.monotonic() < end:
    s.sendto(b"x", ("127.0.0.1", port))  # a new flow every 5 ms, from one source
    port += 1
    time.sleep(0.005)
"""


def test_growers_rank_the_source_that_grows_in_a_live_lab(lab):
    lab.sysctl("net.netfilter.nf_conntrack_udp_timeout", 600)
    sender = lab.popen([sys.executable, "-c", GROWING_SENDER], what="growing sender")
    try:
        sender.wait_ready()
        out = ctwatch("--once", "--json", "--growers", "--rate-window", "1.5", "--netns", lab.name)
    finally:
        sender.stop()
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    growers = d["growers"]
    assert growers["window"] >= 1.5
    top = growers["src"][0]
    assert top["key"] == "127.0.0.7"
    assert top["growth"] > 50  # ~200 new flows a second over 1.5 s or more
    assert d["rates"]["growth"] > 50
    assert d["forecast"]["kind"] in ("filling", "steady")
