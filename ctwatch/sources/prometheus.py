"""A bounded client for Prometheus's HTTP API: instant and range queries, auth, TLS CA, caps."""

from __future__ import annotations

import base64
import http.client
import json
import math
import os
import re
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Optional

from ctwatch.sources.base import SourceError
from ctwatch.sources.safe_text import safe_line

# A fleet of 1,000 hosts with an hour of 30 points each is ~1.5 MB of JSON; this leaves a
# wide margin and still stops a runaway or hostile server before it fills memory.
RESPONSE_CAP = 64 * 1024 * 1024
SECRET_CAP = 16 * 1024  # a token or a password file; a JWT is a few KB
DEFAULT_TIMEOUT = 10.0
TOKEN_ENV = "CTWATCH_PROMETHEUS_TOKEN"
PASSWORD_ENV = "CTWATCH_PROMETHEUS_PASSWORD"
USER_ENV = "CTWATCH_PROMETHEUS_USER"
# Printable ASCII only: a newline in a header value would split the request (and
# http.client's own refusal quotes the value, which is the secret).
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_USER_SAFE = re.compile(r"[\x20-\x7e]+")


class PrometheusError(SourceError):
    """Prometheus could not be asked or did not answer well; one line, never a secret."""


class UsageError(ValueError):
    """A setting that cannot work (bad URL, unreadable secret file): exit 2, not 1."""


@dataclass(frozen=True)
class Auth:
    """Who we are to Prometheus. The secrets never appear in repr() or any message."""

    user: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    token: Optional[str] = field(default=None, repr=False)

    def header(self) -> Optional[str]:
        if self.token is not None:
            return f"Bearer {self.token}"
        if self.user is not None:
            raw = f"{self.user}:{self.password or ''}".encode()
            return "Basic " + base64.b64encode(raw).decode("ascii")
        return None

    def secrets(self) -> tuple:
        """Every form in which a secret could be echoed back (to scrub it from messages)."""
        out = [s for s in (self.password, self.token) if s]
        header = self.header()
        if header and (self.token or self.password):
            out.append(header.split(" ", 1)[1])
        return tuple(out)


def read_secret(path: Optional[str], env: str, what: str) -> Optional[str]:
    """A secret from a file (first line, trailing newline dropped) or else an environment
    variable; never from the command line, where `ps` shows it to every user."""
    if path is not None:
        try:
            with open(path, "rb") as f:
                raw = f.read(SECRET_CAP + 1)
        except OSError as exc:
            raise UsageError(f"{what} file {safe_line(path)}: {exc.strerror}") from None
        if len(raw) > SECRET_CAP:
            raise UsageError(f"{what} file {safe_line(path)}: longer than {SECRET_CAP} bytes")
        text = raw.decode("utf-8", "replace").splitlines()[0] if raw.strip() else ""
        source = f"{what} file {safe_line(path)}"
    else:
        text = os.environ.get(env, "")
        if not text:
            return None
        source = f"${env}"
    text = text.strip()
    if not text:
        raise UsageError(f"{source} is empty")
    if not _HEADER_SAFE.fullmatch(text):
        raise UsageError(f"{source}: only printable ASCII without spaces is accepted")
    return text


def build_auth(
    user: Optional[str], password_file: Optional[str], token_file: Optional[str]
) -> Auth:
    user = user or os.environ.get(USER_ENV) or None
    token = read_secret(token_file, TOKEN_ENV, "token")
    if user is not None and (not _USER_SAFE.fullmatch(user) or ":" in user):
        raise UsageError("the Prometheus user name must be printable ASCII without ':'")
    password = read_secret(password_file, PASSWORD_ENV, "password") if user else None
    if password_file is not None and user is None:
        raise UsageError("--prometheus-password-file needs --prometheus-user")
    if token is not None and user is not None:
        raise UsageError("basic auth (user) and a bearer token are alternatives")
    return Auth(user=user, password=password, token=token)


def check_url(url: str) -> str:
    """The base URL, validated: http(s), a host, no credentials, no query or fragment."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {safe_line(url, 200)}")
    if parts.username is not None or parts.password is not None:
        # never echo it: the part before @ is a secret
        raise UsageError(
            "credentials in the URL would show in `ps`: use --prometheus-user with "
            f"--prometheus-password-file or ${PASSWORD_ENV}, or ${TOKEN_ENV}"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"the Prometheus URL takes no query: {safe_line(url, 200)}")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise UsageError(f"bad port in {safe_line(url, 200)}") from None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the Authorization header to wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise PrometheusError(f"HTTP {code} redirect refused (point --prometheus at the target)")


@dataclass(frozen=True)
class Config:
    url: str
    auth: Auth = field(default_factory=Auth)
    ca_file: Optional[str] = None
    timeout: float = DEFAULT_TIMEOUT
    cap: int = RESPONSE_CAP


class Client:
    """Instant and range queries. Every call is bounded by `timeout` (for the whole
    answer, not per read) and `cap` bytes; `calls` counts requests made."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.calls = 0
        # No environment proxies (an empty ProxyHandler replaces build_opener's default):
        # a proxy would see the token and change what "timeout" means.
        handlers: list = [_NoRedirect(), urllib.request.ProxyHandler({})]
        if config.url.startswith("https:"):
            try:
                context = ssl.create_default_context(cafile=config.ca_file)
            except (OSError, ssl.SSLError) as exc:
                what = safe_line(config.ca_file or "", 200)
                why = getattr(exc, "strerror", None) or exc
                raise UsageError(f"CA file {what}: {why}") from None
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def query(self, promql: str, at: Optional[float] = None) -> list:
        """[(labels dict, value float)] of an instant query (vector result)."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._call("query", params)
        if data.get("resultType") != "vector":
            raise PrometheusError(f"expected a vector, got {safe_line(data.get('resultType'))}")
        out = []
        for item in _result(data):
            value = item.get("value")
            if not isinstance(value, list) or len(value) != 2:
                raise PrometheusError("malformed answer: a sample without a value")
            out.append((_labels(item), _number(value[1])))
        return out

    def query_range(self, promql: str, start: float, end: float, step: float) -> list:
        """[(labels dict, [(t, value)])] of a range query (matrix result)."""
        params = {
            "query": promql,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": f"{step:g}",
        }
        data = self._call("query_range", params)
        if data.get("resultType") != "matrix":
            raise PrometheusError(f"expected a matrix, got {safe_line(data.get('resultType'))}")
        out = []
        for item in _result(data):
            values = item.get("values")
            if not isinstance(values, list):
                raise PrometheusError("malformed answer: a series without values")
            points = []
            for pair in values:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise PrometheusError("malformed answer: a point without a value")
                points.append((_number(pair[0]), _number(pair[1])))
            out.append((_labels(item), points))
        return out

    def _call(self, path: str, params: dict) -> dict:
        self.calls += 1
        try:
            return self._request(path, params)
        except PrometheusError as exc:
            raise PrometheusError(self._scrub(str(exc))) from None

    def _request(self, path: str, params: dict) -> dict:
        # POST: a long selector fits, and the query stays out of proxies' URL logs.
        body = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(f"{self.config.url}/api/v1/{path}", data=body)
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        req.add_header("Accept", "application/json")
        header = self.config.auth.header()
        if header:
            req.add_header("Authorization", header)
        where = safe_line(self.config.url, 200)
        deadline = time.monotonic() + self.config.timeout
        status = 200
        try:
            with self._opener.open(req, timeout=self.config.timeout) as resp:
                raw = self._read(resp, deadline)
        except urllib.error.HTTPError as exc:
            status = exc.code
            try:
                raw = self._read(exc, deadline)
            except PrometheusError:
                raw = b""
            finally:
                exc.close()
        except PrometheusError:
            raise
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (TimeoutError, OSError)) and "timed out" in str(reason):
                raise PrometheusError(
                    f"{where}: no answer within {self.config.timeout:g} s"
                ) from None
            raise PrometheusError(f"{where}: {reason}") from None
        return self._decode(raw, status, where)

    def _read(self, resp, deadline: float) -> bytes:
        chunks, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise PrometheusError(f"answer not complete within {self.config.timeout:g} s")
            chunk = resp.read(1 << 16)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.config.cap:
                raise PrometheusError(f"answer larger than {self.config.cap >> 20} MB: refused")
            chunks.append(chunk)

    def _decode(self, raw: bytes, status: int, where: str) -> dict:
        try:
            answer = json.loads(raw)
        except ValueError:
            head = safe_line(raw[:120].decode("utf-8", "replace"))
            raise PrometheusError(
                f"{where}: HTTP {status}, not a Prometheus answer: {head}"
            ) from None
        if not isinstance(answer, dict):
            raise PrometheusError(f"{where}: HTTP {status}, not a Prometheus answer")
        if status != 200 or answer.get("status") != "success":
            why = safe_line(answer.get("error") or answer.get("status") or "", 300)
            raise PrometheusError(f"{where}: HTTP {status}: {why}")
        data = answer.get("data")
        if not isinstance(data, dict):
            raise PrometheusError(f"{where}: malformed answer (no data)")
        return data

    def _scrub(self, message: str) -> str:
        for secret in self.config.auth.secrets():
            message = message.replace(secret, "[secret]")
        return message


def _result(data: dict) -> list:
    result = data.get("result")
    if not isinstance(result, list) or not all(isinstance(i, dict) for i in result):
        raise PrometheusError("malformed answer: result is not a list")
    return result


def _labels(item: dict) -> dict:
    labels = item.get("metric")
    if not isinstance(labels, dict):
        raise PrometheusError("malformed answer: a series without labels")
    return {str(k): str(v) for k, v in labels.items()}


def _number(text: object) -> Optional[float]:
    """A sample value or timestamp; NaN and infinities (and junk) are unknown: None."""
    try:
        value = float(text)  # Prometheus writes values as strings, timestamps as numbers
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None
