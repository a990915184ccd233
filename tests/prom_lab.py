"""Real Prometheus and node_exporter for tests: started on loopback ports, optionally inside a lab namespace."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

import pytest

# Debian names first: the packages this project installs in .ci/run (prometheus,
# prometheus-node-exporter); upstream tarball names second.
BINARIES = {
    "prometheus": (("prometheus",), "prometheus"),
    "promtool": (("promtool",), "prometheus"),
    "node_exporter": (("prometheus-node-exporter", "node_exporter"), "prometheus-node-exporter"),
}
CLONE_NEWNET = 0x40000000
START_TIMEOUT = 60.0  # generous: a loaded CI machine; a healthy start takes about a second


def binary(name: str) -> Optional[str]:
    """Path of prometheus, promtool or node_exporter, or None."""
    for candidate in BINARIES[name][0]:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def missing_reason(*names: str) -> Optional[str]:
    """None when every named binary is installed; else which apt package brings it."""
    for name in names:
        if binary(name) is None:
            return f"{name} not installed (apt install {BINARIES[name][1]})"
    return None


def require(*names: str) -> dict:
    """name -> path of each binary; skips the test with the apt package to install."""
    reason = missing_reason(*names)
    if reason:
        pytest.skip(reason)
    return {name: binary(name) for name in names}


# -- reaching a lab namespace's loopback --------------------------------------------------
class InNetns:
    """Runs calls on one thread of ours that entered a network namespace (setns(2)).

    A socket belongs to the namespace of the thread that created it, so HTTP requests
    made on this thread reach the namespace's loopback, where the host cannot. This
    keeps the lab free of veth pairs and routed addresses: only loopback is used.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"promlab-{name}")
        try:
            self._pool.submit(self._enter).result()
        except BaseException:
            self.close()
            raise

    def _enter(self) -> None:
        if hasattr(os, "setns"):  # Python 3.12+
            os.setns(self._fd, CLONE_NEWNET)
            return
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(self._fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {self.name}: {os.strerror(err)}")

    def call(self, fn: Callable, *args, **kw):
        return self._pool.submit(fn, *args, **kw).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        os.close(self._fd)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_get(url: str, timeout: float = 10.0) -> tuple:
    """(status, body); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, urllib.error.URLError) as exc:
        return 0, str(exc).encode()


# -- a started server -----------------------------------------------------------------------
@dataclass
class Server:
    """A process listening on 127.0.0.1:port, in the host namespace or in `netns`."""

    what: str
    port: int
    proc: subprocess.Popen
    workdir: str
    log_path: str
    netns: Optional[InNetns] = None
    argv: list = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def get(self, path: str, timeout: float = 10.0) -> tuple:
        """(status, body) of GET path, made from the server's own namespace."""
        if self.netns is None:
            return _http_get(self.url + path, timeout)
        return self.netns.call(_http_get, self.url + path, timeout)

    def log_tail(self, chars: int = 1500) -> str:
        with contextlib.suppress(OSError), open(self.log_path, errors="replace") as f:
            return f.read()[-chars:]
        return ""

    def query(self, promql: str, at: Optional[float] = None) -> list:
        return query(self, promql, at)


def _start(
    what: str,
    argv_for_port: Callable[[int], list],
    ready_path: str,
    workdir: str,
    netns: Optional[str],
) -> Server:
    """Start on a free loopback port (retried if the port was taken meanwhile), wait ready."""
    ns = InNetns(netns) if netns else None
    try:
        last = ""
        for attempt in range(3):
            port = ns.call(_free_port) if ns else _free_port()
            argv = argv_for_port(port)
            full = ["ip", "netns", "exec", netns, *argv] if netns else argv
            log_path = os.path.join(workdir, f"{what}-{attempt}.log")
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    full, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
                )
            server = Server(what, port, proc, workdir, log_path, ns, full)
            if _wait_ready(server, ready_path):
                return server
            last = server.log_tail()
            _stop(server)
            if "address already in use" not in last:
                break
        raise RuntimeError(f"{what} did not get ready: {' '.join(full)}\n{last}")
    except BaseException:
        if ns:
            ns.close()
        raise


def _wait_ready(server: Server, path: str) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            return False
        status, _ = server.get(path, timeout=2.0)
        if status == 200:
            return True
        time.sleep(0.1)
    return False


def _stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def _close(server: Server) -> None:
    _stop(server)
    if server.netns is not None:
        server.netns.close()


def scrape_config(jobs: Mapping, scrape_interval: str = "1s") -> dict:
    """A Prometheus config scraping `jobs` ({job: [host:port, ...]}) every scrape_interval."""
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "scrape_configs": [
            {
                "job_name": job,
                "scrape_interval": scrape_interval,
                "scrape_timeout": scrape_interval,
                "static_configs": [{"targets": list(targets)}],
            }
            for job, targets in jobs.items()
        ],
    }


@contextlib.contextmanager
def prometheus(
    jobs: Optional[Mapping] = None,
    netns: Optional[str] = None,
    scrape_interval: str = "1s",
    tsdb: Optional[str] = None,
    extra_args: Sequence = (),
) -> Iterator[Server]:
    """A real Prometheus on 127.0.0.1:free port, scraping `jobs` ({job: [targets]}).

    netns: a lab namespace name; Prometheus then runs inside it (`ip netns exec`) so it
    reaches targets on that namespace's loopback, and query() talks to it from a thread
    that entered the same namespace. tsdb: an existing data directory (for example blocks
    made by backfill()); by default a fresh one in the temporary directory. The config is
    JSON, which is YAML, so no YAML library is needed.
    """
    paths = require("prometheus")
    with tempfile.TemporaryDirectory(prefix="promlab-") as workdir:
        config = os.path.join(workdir, "prometheus.yml")
        with open(config, "w") as f:
            json.dump(scrape_config(jobs or {}, scrape_interval), f, indent=1)
        data = tsdb or os.path.join(workdir, "data")

        def argv(port: int) -> list:
            return [
                paths["prometheus"],
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
                *extra_args,
            ]

        server = _start("prometheus", argv, "/-/ready", workdir, netns)
        try:
            yield server
        finally:
            _close(server)


@contextlib.contextmanager
def node_exporter(
    textfile_dir: Optional[str] = None,
    netns: Optional[str] = None,
    collectors: Sequence = ("textfile",),
) -> Iterator[Server]:
    """A real node_exporter on 127.0.0.1:free port with only `collectors` enabled.

    The built-in conntrack collector stays off (`--no-collector.conntrack`, the setting
    ctwatch's --node-names needs) unless "conntrack" is among the collectors.
    """
    paths = require("node_exporter")
    with tempfile.TemporaryDirectory(prefix="promlab-ne-") as workdir:
        args = ["--collector.disable-defaults", "--web.disable-exporter-metrics"]
        args += [f"--collector.{name}" for name in collectors]
        if "conntrack" not in collectors:
            args.append("--no-collector.conntrack")
        if textfile_dir is not None:
            args.append(f"--collector.textfile.directory={textfile_dir}")

        def argv(port: int) -> list:
            return [
                paths["node_exporter"],
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
                *args,
            ]

        server = _start("node_exporter", argv, "/metrics", workdir, netns)
        try:
            yield server
        finally:
            _close(server)


# -- the query API --------------------------------------------------------------------------
class QueryError(AssertionError):
    """Prometheus refused a query (bad PromQL, bad parameters) or did not answer."""


def api(server: Union[Server, str], path: str, params: Mapping) -> object:
    """GET /api/v1/<path>?params; the `data` member of a success answer."""
    suffix = f"/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}"
    if isinstance(server, Server):
        status, body = server.get(suffix)
    else:
        status, body = _http_get(server.rstrip("/") + suffix)
    try:
        answer = json.loads(body)
    except ValueError:
        raise QueryError(f"{path} {dict(params)}: HTTP {status}: {body[:300]!r}") from None
    if status != 200 or answer.get("status") != "success":
        raise QueryError(f"{path} {dict(params)}: HTTP {status}: {answer.get('error', answer)}")
    return answer["data"]


def query(server: Union[Server, str], promql: str, at: Optional[float] = None) -> list:
    """The result list of an instant query (each item has `metric` and `value`)."""
    params = {"query": promql}
    if at is not None:
        params["time"] = f"{at:.3f}"
    return api(server, "query", params)["result"]


def query_range(
    server: Union[Server, str], promql: str, start: float, end: float, step: float
) -> list:
    """The result list of a range query (each item has `metric` and `values`)."""
    params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": step}
    return api(server, "query_range", params)["result"]


def wait_for_series(
    server: Union[Server, str],
    promql: str,
    timeout: float = 60.0,
    accept: Optional[Callable[[list], bool]] = None,
) -> list:
    """Poll an instant query until it returns series (and `accept(result)` holds).

    The deadline is generous on purpose (a loaded machine); a healthy scrape loop
    answers within a few scrape intervals.
    """
    deadline = time.monotonic() + timeout
    result: list = []
    while True:
        result = query(server, promql)
        if result and (accept is None or accept(result)):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching series for {promql!r} after {timeout} s: {result}")
        time.sleep(0.25)


def value(item: Mapping) -> float:
    """The number in one instant-query result item."""
    return float(item["value"][1])


# -- data without a live target ----------------------------------------------------------------
def backfill(openmetrics: str, data_dir: str) -> None:
    """Turn an OpenMetrics text (with timestamps, ending in `# EOF`) into TSDB blocks in
    data_dir with `promtool tsdb create-blocks-from openmetrics`; a Prometheus started
    with tsdb=data_dir then answers queries over that history."""
    paths = require("promtool")
    os.makedirs(data_dir, exist_ok=True)
    source = data_dir.rstrip("/") + ".om"
    with open(source, "w") as f:
        f.write(openmetrics)
    proc = subprocess.run(
        [paths["promtool"], "tsdb", "create-blocks-from", "openmetrics", "-q", source, data_dir],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {(proc.stderr or proc.stdout)[-800:]}")
