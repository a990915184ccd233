"""Roll-ups of the table: sources by subnet (/24, /64), and the SNAT view from reply tuples."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ctwatch.model.scan import complete_lines


def subnet_of(raw: bytes, v4_prefix: int = 24, v6_prefix: int = 64) -> str:
    text = raw.decode("ascii", "replace")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return text
    prefix = v6_prefix if addr.version == 6 else v4_prefix
    return str(ipaddress.ip_network((addr, prefix), strict=False))


def subnet_rollup(counter: dict, v4_prefix: int = 24, v6_prefix: int = 64) -> Counter:
    """Counts by network: a flood from 10.1.2.0/24 shows as one row, not 254."""
    if v4_prefix == 24:
        # The common case, without building an address object per distinct source.
        out: Counter = Counter()
        slow: dict = {}
        for raw, n in counter.items():
            if b":" not in raw and raw.count(b".") == 3:
                out[raw.rsplit(b".", 1)[0].decode("ascii", "replace") + ".0/24"] += n
            else:
                slow[raw] = n
        for raw, n in slow.items():
            out[subnet_of(raw, v4_prefix, v6_prefix)] += n
        return out
    result: Counter = Counter()
    for raw, n in counter.items():
        result[subnet_of(raw, v4_prefix, v6_prefix)] += n
    return result


# l4, original src, original dst, reply src, reply dst, reply dport.
_NAT_RE = re.compile(
    rb"^(?:(?:ipv4|ipv6|unknown) +\d+ +)?([a-z][a-z0-9]*) +\d+ [^\n]*?"
    rb"src=([^ \n]+) dst=([^ \n]+) [^\n]*? src=([^ \n]+) dst=([^ \n]+) "
    rb"(?:sport=\d+ dport=(\d+) )?",
    re.M,
)


def _address(raw: bytes):
    """The address in its usual form, or None for bytes that are not an address."""
    try:
        return str(ipaddress.ip_address(raw.decode("ascii")))
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class NatAddress:
    """One translated source address: how many entries use it, and which ports."""

    address: str
    proto: str
    entries: int
    ports: int  # distinct translated ports
    port_min: int
    port_max: int


def snat_view(chunks: Iterable[bytes]) -> list:
    """Translated (SNAT/masquerade) source addresses, busiest first.

    An entry is source-NATed when its reply goes to another address than the original
    source: the reply tuple's dst and dport are the translated address and port.
    """
    entries: Counter = Counter()
    ports: dict = {}
    for chunk, partial in complete_lines(chunks):
        if partial:
            continue
        for l4, osrc, _odst, _rsrc, rdst, rdport in _NAT_RE.findall(chunk):
            if rdst == osrc:
                continue
            if rdport and (len(rdport) > 5 or int(rdport) > 65535):
                continue  # not a port: a damaged or hostile line is not a translation
            key = (rdst, l4)
            entries[key] += 1
            if rdport:
                ports.setdefault(key, set()).add(int(rdport))
    out = []
    for (addr, l4), n in entries.most_common():
        address = _address(addr)
        if address is None:
            continue
        used = ports.get((addr, l4), ())
        out.append(
            NatAddress(
                address=address,
                proto=l4.decode("ascii"),
                entries=n,
                ports=len(used),
                port_min=min(used) if used else 0,
                port_max=max(used) if used else 0,
            )
        )
    return out
