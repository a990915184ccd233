"""The fleet without a real Prometheus: selector, model, bounded client, secrets, CLI exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from fake_prometheus import _ok, fake_prometheus

from ctwatch.engine.fleet import FleetWatch
from ctwatch.model.fleet import CTWATCH, NODE, fleet_rows, host_key, sort_rows
from ctwatch.model.promql import SelectorError, fleet_queries, parse_duration, parse_selector
from ctwatch.sources.prometheus import (
    Auth,
    Client,
    Config,
    PrometheusError,
    UsageError,
    build_auth,
    check_url,
)

SECRET = "s3cr3t-T0KEN-value"
CTWATCH_CMD = [sys.executable, "-m", "ctwatch"]


# -- the selector -----------------------------------------------------------------------------
def test_selector_is_parsed_and_rerendered():
    m = parse_selector('{job="node", env=~"prod.*",dc!="a\\"b"}')
    assert [(x.name, x.op, x.value) for x in m] == [
        ("job", "=", "node"),
        ("env", "=~", "prod.*"),
        ("dc", "!=", 'a"b'),
    ]
    q = fleet_queries(m, 600)
    assert 'job="node",env=~"prod.*",dc!="a\\"b"}' in q.levels
    assert q.levels.startswith('{__name__=~"ctwatch_entries|')
    assert "[10m]" in q.drops and "[10m]" in q.slope
    assert parse_selector("") == ()


@pytest.mark.parametrize(
    "text",
    [
        'job="a"} or vector(1) #',
        'job="a"}) or up{job="b"',
        "job=node",
        'job="unterminated',
        '__name__="up"',
        'job="a" env="b"',
        '1job="a"',
        'job=="a"',
        'job="a\\q"',
        'job="a\x1b"',
        "x" * 3000,
    ],
)
def test_selector_refuses_anything_but_matchers(text):
    with pytest.raises(SelectorError):
        parse_selector(text)


def test_window_durations():
    assert parse_duration("10m") == 600 and parse_duration("90s") == 90
    assert parse_duration("2h") == 7200
    for bad in ("", "0m", "10", "1h30m", "-5m", "5 m", "1e3s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# -- the model --------------------------------------------------------------------------------
def _lv(name, instance, value, **extra):
    return ({"__name__": name, "instance": instance, "job": extra.pop("job", "x"), **extra}, value)


def test_one_row_per_host_ctwatch_first_node_exporter_alone_still_a_row():
    levels = [
        _lv("ctwatch_entries", "gw1:9611", 900, job="ctwatch"),
        _lv("ctwatch_entries_limit", "gw1:9611", 1000, job="ctwatch"),
        _lv("node_nf_conntrack_entries", "gw1:9100", 899, job="node"),
        _lv("node_nf_conntrack_entries_limit", "gw1:9100", 1000, job="node"),
        _lv("node_nf_conntrack_entries", "db1:9100", 100, job="node"),
        _lv("node_nf_conntrack_entries_limit", "db1:9100", 1000, job="node"),
        _lv("ctwatch_entries", "gw1:9612", 50, job="ctwatch", netns="blue"),
    ]
    ident = (("instance", "gw1:9611"), ("job", "ctwatch"))
    drops = [({"instance": "gw1:9611", "job": "ctwatch", "ctwatch_fleet": CTWATCH}, 5.0)]
    slopes = [
        ({"instance": "gw1:9611", "job": "ctwatch", "ctwatch_fleet": CTWATCH}, 2.0),
        ({"instance": "db1:9100", "job": "node", "ctwatch_fleet": NODE}, -1.0),
    ]
    history = [({"__name__": "ctwatch_entries", **dict(ident)}, [(100.0, 1.0), (160.0, 3.0)])]
    rows = {r.key: r for r in fleet_rows(levels, drops, slopes, history, 100.0, 60.0, 3)}
    assert set(rows) == {("gw1", None), ("db1", None), ("gw1", "blue")}
    gw1 = rows["gw1", None]
    assert (gw1.source, gw1.instance, gw1.entries, gw1.limit) == (CTWATCH, "gw1:9611", 900, 1000)
    assert gw1.fill == 0.9 and gw1.drop_rate == 5.0 and gw1.history == (1.0, 3.0, None)
    assert gw1.seconds_until_full == 50.0  # 100 entries left at 2/s
    db1 = rows["db1", None]
    assert db1.source == NODE and db1.seconds_until_full is None  # draining
    blue = rows["gw1", "blue"]
    assert blue.limit is None and blue.fill is None and blue.seconds_until_full is None


def test_host_key_keeps_ipv6_and_portless_instances():
    assert host_key({"instance": "[::1]:9100"}) == ("[::1]", None)
    assert host_key({"instance": "gw1", "netns": "a"}) == ("gw1", "a")


def test_time_to_full_is_null_for_noise_and_zero_when_full():
    base = [_lv("ctwatch_entries_limit", "h:1", 262144)]

    def row(entries, slope):
        levels = [*base, _lv("ctwatch_entries", "h:1", entries)]
        slopes = [({"instance": "h:1", "job": "x", "ctwatch_fleet": CTWATCH}, slope)]
        return fleet_rows(levels, [], slopes, [], 0, 60, 1, window=600)[0]

    assert row(1000, 1.0).seconds_until_full is None  # 600 entries in 10 min: wobble
    assert row(1000, 10.0).seconds_until_full == pytest.approx(26114.4)
    assert row(262144, 0.0).seconds_until_full == 0.0


def test_an_exporter_that_stopped_answering_keeps_a_row_marked_down():
    levels = [_lv("ctwatch_entries", "a:9611", 10), _lv("ctwatch_entries_limit", "a:9611", 100)]
    levels += [_lv("ctwatch_entries", "b:9611", 90), _lv("ctwatch_entries_limit", "b:9611", 100)]
    down = [
        ({"instance": "c:9611", "job": "x", "ctwatch_fleet": CTWATCH}, 77.0),
        ({"instance": "c:9100", "job": "n", "ctwatch_fleet": NODE}, 75.0),
        ({"instance": "a:9100", "job": "n", "ctwatch_fleet": NODE}, 11.0),  # a: fed by ctwatch
    ]
    rows = fleet_rows(levels, [], [], [], 0, 60, 1, down=down)
    by = {r.instance: r for r in rows}
    assert set(by) == {"a:9611", "b:9611", "c:9611"}
    c = by["c:9611"]
    assert not c.up and c.entries == 77.0 and c.source == CTWATCH
    assert c.seconds_until_full is None and by["a:9611"].up
    assert [r.instance for r in sort_rows(rows, "fill")] == ["c:9611", "b:9611", "a:9611"]


def test_sorts_and_their_tiebreaks():
    levels = []
    for name, entries in (("a:1", 10), ("b:1", 90), ("c:1", 50)):
        levels += [_lv("ctwatch_entries", name, entries), _lv("ctwatch_entries_limit", name, 100)]
    drops = [({"instance": "c:1", "job": "x", "ctwatch_fleet": CTWATCH}, 3.0)]
    slopes = [({"instance": "a:1", "job": "x", "ctwatch_fleet": CTWATCH}, 1.0)]
    rows = fleet_rows(levels, drops, slopes, [], 0, 60, 1)
    assert [r.instance for r in sort_rows(rows, "drops")] == ["c:1", "b:1", "a:1"]
    assert [r.instance for r in sort_rows(rows, "fill")] == ["b:1", "c:1", "a:1"]
    assert [r.instance for r in sort_rows(rows, "full")] == ["a:1", "c:1", "b:1"]


# -- the client -----------------------------------------------------------------------------
def test_bearer_token_from_a_file_and_basic_auth_from_the_environment(tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text(SECRET + "\n")
    auth = build_auth(None, None, str(token))
    assert auth.token == SECRET and SECRET not in repr(auth)
    monkeypatch.setenv("CTWATCH_PROMETHEUS_PASSWORD", SECRET)
    basic = build_auth("alice", None, None)
    assert basic.header().startswith("Basic ") and SECRET not in repr(basic)
    with fake_prometheus() as fake:
        Client(Config(fake.url, auth)).query("up")
        Client(Config(fake.url, basic)).query("up")
        assert fake.requests[0][2]["Authorization"] == f"Bearer {SECRET}"
        assert fake.requests[1][2]["Authorization"] == basic.header()
        assert fake.requests[0][0] == "/api/v1/query"


def test_secret_never_in_errors_even_when_the_server_echoes_it(tmp_path):
    for auth in (Auth(token=SECRET), Auth(user="bob", password=SECRET)):
        with fake_prometheus() as fake:

            def echo(path, params, headers):
                said = headers.get("Authorization", "")
                body = json.dumps({"status": "error", "error": f"bad credentials {said}"})
                return 401, body.encode(), {}

            fake.answer = echo
            with pytest.raises(PrometheusError) as err:
                Client(Config(fake.url, auth)).query("up")
        text = str(err.value)
        assert "HTTP 401" in text and SECRET not in text
        assert auth.header().split(" ", 1)[1] not in text


def test_a_bad_secret_file_is_a_usage_error_without_its_content(tmp_path):
    bad = tmp_path / "token"
    bad.write_text(f"{SECRET} extra words\n")
    with pytest.raises(UsageError) as err:
        build_auth(None, None, str(bad))
    assert SECRET not in str(err.value)
    with pytest.raises(UsageError):
        build_auth(None, None, str(tmp_path / "missing"))
    with pytest.raises(UsageError):
        check_url(f"http://bob:{SECRET}@prom:9090")
    try:
        check_url(f"http://bob:{SECRET}@prom:9090")
    except UsageError as exc:
        assert SECRET not in str(exc)


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (its own CA), made by openssl(1)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed (apt install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return str(cert), str(key)


def test_https_with_the_ca_file_and_refused_without_it(certificate):
    with fake_prometheus(tls=certificate) as fake:
        assert fake.url.startswith("https:")
        assert Client(Config(fake.url, ca_file=certificate[0])).query("up") == []
        with pytest.raises(PrometheusError, match="CERTIFICATE_VERIFY_FAILED|certificate"):
            Client(Config(fake.url)).query("up")
        ok = run(
            "--once", "--json", "--prometheus", fake.url, "--prometheus-ca-file", certificate[0]
        )
        bad = run("--once", "--json", "--prometheus", fake.url)
        missing = run("--once", "--prometheus", fake.url, "--prometheus-ca-file", "/nonexistent")
    assert ok.returncode == 0 and json.loads(ok.stdout)["hosts"] == []
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    assert "certificate" in bad.stderr
    assert missing.returncode == 2 and "CA file" in missing.stderr


def test_proxy_variables_are_not_followed(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with fake_prometheus() as fake:
        assert Client(Config(fake.url, Auth(token=SECRET))).query("up") == []
        assert len(fake.requests) == 1


def test_slow_huge_redirecting_or_malformed_answers_are_one_line_errors():
    with fake_prometheus() as fake:
        fake.delay = 3.0
        t = time.monotonic()
        with pytest.raises(PrometheusError, match="no answer within 0.5 s"):
            Client(Config(fake.url, timeout=0.5)).query("up")
        assert time.monotonic() - t < 2.5
        fake.delay = 0
        fake.answer = lambda *a: (200, b"x" * 5000, {})
        with pytest.raises(PrometheusError, match="larger than"):
            Client(Config(fake.url, cap=4096)).query("up")
        with pytest.raises(PrometheusError, match="not a Prometheus answer"):
            Client(Config(fake.url)).query("up")
        fake.answer = lambda *a: (302, b"", {"Location": "http://127.0.0.1:1/steal"})
        with pytest.raises(PrometheusError, match="redirect refused"):
            Client(Config(fake.url, Auth(token=SECRET))).query("up")
        fake.answer = lambda *a: (200, _ok({"resultType": "scalar", "result": [0, "1"]}), {})
        with pytest.raises(PrometheusError, match="expected a vector"):
            Client(Config(fake.url)).query("1")
        fake.answer = lambda *a: (200, _ok({"resultType": "vector", "result": [{"x": 1}]}), {})
        with pytest.raises(PrometheusError, match="malformed"):
            Client(Config(fake.url)).query("up")


def test_the_last_rows_stay_marked_stale_when_prometheus_goes_away():
    with fake_prometheus() as fake:
        client = Client(Config(fake.url, timeout=2))
        watch = FleetWatch(client)
        q = watch.queries
        fake.vectors[q.levels] = [
            ({"__name__": "ctwatch_entries", "instance": "h:1", "job": "c"}, 5),
        ]
        first = watch.poll()
        assert [r.entries for r in first.rows] == [5] and not first.stale
        assert first.queries == 5  # whatever the number of hosts
        url = fake.url
    client.config = Config(url, timeout=1)
    second = watch.poll()
    assert second.stale and second.error and [r.entries for r in second.rows] == [5]
    assert second.taken_at == first.taken_at


# -- the command line ---------------------------------------------------------------------
def run(*args, env=None, timeout=60):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*CTWATCH_CMD, *args], capture_output=True, text=True, timeout=timeout, env=full_env
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--once", "--json", "--prometheus", "http://127.0.0.1:1", "--selector", "job=x"),
        ("--once", "--prometheus", "http://127.0.0.1:1", "--netns", "x"),
        ("--once", "--prometheus", "http://127.0.0.1:1", "-p", "tcp"),
        ("--once", "--prometheus", "http://127.0.0.1:1", "--top", "5"),
        ("--prometheus", "http://127.0.0.1:1", "--cpu-budget", "5"),
        ("--json", "--prometheus", "http://127.0.0.1:1"),
        ("--once", "--prometheus", "ftp://127.0.0.1:1"),
        ("--once", "--prometheus", ""),
        ("--once", "--prometheus", "http://127.0.0.1:1", "--fleet-window", "5"),
        ("--once", "--selector", 'job="x"'),
        ("--once", "--prometheus-token-file", "/nonexistent"),
        ("--once", "--prometheus", "http://127.0.0.1:1", "--prometheus-token-file", "/nope"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args):
    proc = run(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip().splitlines()[-1]


def test_the_fleet_view_without_a_terminal_says_use_once():
    proc = subprocess.run(
        [*CTWATCH_CMD, "--prometheus", "http://127.0.0.1:1"],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "needs a terminal" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_prometheus_exits_1_with_one_line_and_no_secret():
    proc = run(
        "--once",
        "--json",
        "--prometheus",
        "http://127.0.0.1:1",
        env={"CTWATCH_PROMETHEUS_TOKEN": SECRET},
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "refused" in proc.stderr
    assert SECRET not in proc.stderr


def test_json_and_csv_hosts_are_printable_and_never_formulas():
    with fake_prometheus() as fake:
        hostile = "=cmd|' /C calc'!A0\x1b]0;pwned\x07:9100"
        fake.answer = None

        def answer(path, params, headers):
            q = params.get("query", "")
            if path.endswith("query_range"):
                return 200, _ok({"resultType": "matrix", "result": []}), {}
            result = []
            if q.startswith("{"):
                for name, v in (
                    ("node_nf_conntrack_entries", 80),
                    ("node_nf_conntrack_entries_limit", 100),
                ):
                    result.append(
                        {
                            "metric": {"__name__": name, "instance": hostile, "job": "node"},
                            "value": [0, str(v)],
                        }
                    )
            return 200, _ok({"resultType": "vector", "result": result}), {}

        fake.answer = answer
        js = run(
            "--once", "--json", "--prometheus", fake.url, env={"CTWATCH_PROMETHEUS_TOKEN": SECRET}
        )
        cs = run("--once", "--csv", "--prometheus", fake.url)
        assert all(r[2].get("Authorization") == f"Bearer {SECRET}" for r in fake.requests[:5])
    assert js.returncode == 0, js.stderr
    doc = json.loads(js.stdout)
    assert doc["queries"] == 5
    (host,) = doc["hosts"]
    assert host["instance"].startswith("=cmd") and "\x1b" not in host["instance"]
    assert host == {**host, "entries": 80, "limit": 100, "fill": 0.8, "source": "node_exporter"}
    assert host["drop_rate"] is None and host["seconds_until_full"] is None
    assert SECRET not in js.stdout + js.stderr
    assert cs.returncode == 0, cs.stderr
    rows = list(csv.reader(io.StringIO(cs.stdout)))
    assert rows[0][:2] == ["instance", "job"] and rows[1][0].startswith("'=cmd")
    assert "\x1b" not in cs.stdout and "\x07" not in cs.stdout
