"""Read-only conntrack sizing advice: numbers, reasoning and commands, never applied."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ctwatch.model.advice_namespaces import (
    NEAR_FULL,
    AdviceItem,
    NamespaceLoad,
    memory_item,
    namespace_items,
)
from ctwatch.model.format import count as count_text
from ctwatch.model.format import human_bytes, percent

ASSUMED_BYTES_PER_ENTRY = 320  # typical nf_conntrack slab objsize (256-400 seen in the wild)
DEFAULT_ESTABLISHED_TIMEOUT = 432000  # 5 days, the kernel default
SUGGESTED_ESTABLISHED_TIMEOUT = 86400  # 1 day: kube-proxy's default for the same sysctl
KERNEL_TIME_WAIT = 60  # the kernel's own TCP TIME_WAIT length, seconds
BIG_SOURCE_SHARE = 0.25  # one source holding a quarter of the table is worth a look
BIG_SOURCE_SHARE_UNDER_PRESSURE = 0.10  # near full, a tenth is (a flood from few addresses)
DOMINANT_STATE_SHARE = 0.5
MAX_SOURCES_NAMED = 5
# Half-open handshakes: the timeout that holds them, and the value suggested under a flood.
HALF_OPEN = {
    "SYN_RECV": ("tcp_timeout_syn_recv", 30, "SYNs answered but never acknowledged"),
    "SYN_SENT": ("tcp_timeout_syn_sent", 30, "SYNs sent and never answered"),
}


@dataclass(frozen=True)
class _Names:
    """Where the commands point: nf_conntrack, or ip_conntrack on 2.4/early-2.6 kernels."""

    sysctl: str  # prefix of the sysctl names
    module: str

    def sysctl_cmd(self, prefix: str, name: str, value: int) -> str:
        return f"{prefix}sysctl -w {self.sysctl}{name}={value}"


NF_NAMES = _Names("net.netfilter.nf_conntrack_", "nf_conntrack")
LEGACY_NAMES = _Names("net.ipv4.netfilter.ip_conntrack_", "ip_conntrack")


@dataclass(frozen=True)
class Advice:
    """Sizing numbers (None where an input was unknown) and the advice items, most urgent first."""

    bytes_per_entry: int
    bytes_per_entry_assumed: bool  # slabinfo unreadable: ASSUMED_BYTES_PER_ENTRY used
    memory_at_current_max: Optional[int]  # max * bytes_per_entry
    suggested_max: Optional[int]  # RAM / 16384 / (pointer_bits / 32)
    memory_at_suggested_max: Optional[int]
    hash_memory: Optional[int]  # buckets * pointer size (8 bytes on 64-bit)
    load_factor: Optional[float]  # count / buckets: average hash chain length now
    load_factor_at_max: Optional[float]  # max / buckets: chain length when full
    suggested_buckets: Optional[int]  # one bucket per entry at the max we end up with
    items: tuple = ()
    # Every namespace's table counts against the same kernel memory: their entries summed
    # (None when the namespaces were not listed) and the worst case, each one at the max.
    namespaces: int = 0
    entries_all_namespaces: Optional[int] = None
    memory_all_namespaces: Optional[int] = None
    memory_all_namespaces_full: Optional[int] = None


def _pct(part: float, whole: Optional[float]) -> str:
    return percent(part / whole if whole else None)


def advise(
    *,
    count: Optional[int],
    maximum: Optional[int],
    buckets: Optional[int],
    slab_objsize: Optional[int],
    ram_bytes: Optional[int],
    pointer_bits: int = 64,
    timeouts: Optional[dict] = None,
    top_sources: tuple = (),
    states: Optional[dict] = None,
    drop_rate: Optional[float] = None,
    entries: Optional[int] = None,
    netns: Optional[str] = None,
    legacy: bool = False,
    enter: Optional[str] = None,
    namespaces: tuple = (),
) -> Advice:
    """Advice for a table holding `count` of `maximum` entries in `buckets` hash buckets.

    timeouts: sysctl values by name without the `nf_conntrack_` prefix
    ("tcp_timeout_established": 432000). top_sources: [(ip, entries)], largest first.
    states: {state: entries}. drop_rate: packets dropped per second (stat `drop`), None
    when unknown. entries: how many entries top_sources and states were counted over
    (the scanned table; defaults to count). netns: a namespace name, to prefix the
    per-namespace commands with `ip netns exec NAME`. legacy: the kernel has the old
    ip_conntrack module (ProcSource's legacy layout): commands use its sysctl names.
    enter: the command prefix that enters a namespace without a name (`nsenter ...`).
    namespaces: NamespaceLoad of every network namespace, when they were listed.
    """
    names = LEGACY_NAMES if legacy else NF_NAMES
    assumed = not slab_objsize
    per_entry = ASSUMED_BYTES_PER_ENTRY if assumed else int(slab_objsize)
    pointer_bytes = pointer_bits // 8
    suggested_max = int(ram_bytes // 16384 // (pointer_bits // 32)) if ram_bytes else None
    total = entries if entries else count
    fill = count / maximum if count is not None and maximum else None
    dropping = bool(drop_rate and drop_rate > 0) or (fill is not None and fill >= 1.0)
    raise_max = (
        suggested_max is not None
        and maximum is not None
        and suggested_max > maximum
        and (dropping or (fill is not None and fill >= NEAR_FULL))
    )
    target_max = suggested_max if raise_max else maximum
    suggested_buckets = max(buckets or 0, target_max) if target_max else None
    prefix = enter or (f"ip netns exec {netns} " if netns else "")
    listed = [n for n in namespaces if n.entries is not None]
    all_entries = sum(n.entries for n in listed) if namespaces else None

    items = []
    if dropping:
        items.append(_drops_item(count, maximum, drop_rate))
    items.extend(namespace_items(namespaces, maximum))
    pressure = dropping or (fill is not None and fill >= NEAR_FULL)
    threshold = BIG_SOURCE_SHARE_UNDER_PRESSURE if pressure else BIG_SOURCE_SHARE
    items.extend(_source_items(top_sources, total, prefix, threshold))
    items.extend(_timeout_items(states or {}, total, timeouts or {}, prefix, names))
    max_item = _max_item(
        count,
        maximum,
        buckets,
        suggested_max,
        raise_max,
        per_entry,
        assumed,
        ram_bytes,
        netns or enter,
        pointer_bits,
        names,
        len(namespaces),
    )
    # An unlimited table (max 0) is the most urgent thing to say; otherwise sizing last.
    items.insert(0, max_item) if maximum == 0 else items.append(max_item)
    if len(namespaces) > 1:
        items.append(memory_item(namespaces, all_entries, maximum, per_entry, ram_bytes))
    if buckets and suggested_buckets and suggested_buckets > buckets:
        items.append(
            _buckets_item(count, buckets, target_max, suggested_buckets, pointer_bytes, names)
        )

    return Advice(
        bytes_per_entry=per_entry,
        bytes_per_entry_assumed=assumed,
        memory_at_current_max=maximum * per_entry if maximum is not None else None,
        suggested_max=suggested_max,
        memory_at_suggested_max=suggested_max * per_entry if suggested_max is not None else None,
        hash_memory=buckets * pointer_bytes if buckets is not None else None,
        load_factor=count / buckets if count is not None and buckets else None,
        load_factor_at_max=maximum / buckets if maximum is not None and buckets else None,
        suggested_buckets=suggested_buckets,
        items=tuple(items),
        namespaces=len(namespaces),
        entries_all_namespaces=all_entries,
        memory_all_namespaces=all_entries * per_entry if all_entries is not None else None,
        memory_all_namespaces_full=(
            len(namespaces) * maximum * per_entry if namespaces and maximum else None
        ),
    )


def _drops_item(count, maximum, drop_rate) -> AdviceItem:
    rate = f"{drop_rate:,.1f} packets/s" if drop_rate else "packets"
    return AdviceItem(
        "drops",
        f"The table is full and the kernel is dropping {rate}",
        f"{count_text(count)} of {count_text(maximum)} entries "
        "are in use. Every packet that would start a new flow is dropped now, so new "
        "connections fail while existing ones keep working. Free room by stopping what "
        "fills the table (see below) before anything else.",
    )


def _source_items(top_sources, total, prefix, threshold) -> list:
    items = []
    if not total:
        return items
    for ip, n in list(top_sources)[:MAX_SOURCES_NAMED]:
        if n / total < threshold:
            break
        why = (
            f"Find out what {ip} is doing (a retry storm, a scan, a client opening a "
            "connection per request, a NAT gateway in front of many hosts) and stop it "
            "there: that is the fix. Deleting its entries frees room at once but only "
            "for as long as it takes the source to make them again."
            if not items
            else f"As above: find what {ip} is doing and stop it there."
        )
        items.append(
            AdviceItem(
                "source",
                f"{ip} holds {_pct(n, total)} of the entries ({n:,})",
                why,
                f"{prefix}conntrack -D -s {ip}",
            )
        )
    return items


def _timeout_items(states, total, timeouts, prefix, names) -> list:
    items = []
    if not total:
        return items
    established = states.get("ESTABLISHED", 0)
    timeout = timeouts.get("tcp_timeout_established")
    if (
        established / total >= DOMINANT_STATE_SHARE
        and timeout is not None
        and timeout > SUGGESTED_ESTABLISHED_TIMEOUT
    ):
        new = SUGGESTED_ESTABLISHED_TIMEOUT
        items.append(
            AdviceItem(
                "established_timeout",
                f"ESTABLISHED entries are {_pct(established, total)} of the table and live "
                f"{timeout:,} s ({timeout / 86400:g} days)",
                f"An established flow whose peer vanished without FIN or RST keeps its entry "
                f"for {names.module}_tcp_timeout_established = {timeout:,} s"
                f"{' (the 5-day default)' if timeout == DEFAULT_ESTABLISHED_TIMEOUT else ''}. "
                f"{new:,} s (1 day, kube-proxy's default) drains such leftovers "
                f"{timeout / new:g} times sooner; connections idle longer than that without "
                "keepalives lose their entry.",
                names.sysctl_cmd(prefix, "tcp_timeout_established", new),
            )
        )
    for state, (name, suggested, what) in HALF_OPEN.items():
        held = states.get(state, 0)
        value = timeouts.get(name)
        if held / total < DOMINANT_STATE_SHARE or value is None or value <= suggested:
            continue
        items.append(
            AdviceItem(
                f"{state.lower()}_timeout",
                f"{state} entries are {_pct(held, total)} of the table: half-open handshakes",
                f"{what}: a SYN flood (often from spoofed sources) or a peer that cannot "
                f"reach back. Each attempt holds an entry for {names.module}_{name} = {value} s. "
                "Rate-limiting new connections at the firewall, or SYN cookies at the "
                f"server, is the fix; {suggested} s frees the entries sooner meanwhile.",
                names.sysctl_cmd(prefix, name, suggested),
            )
        )
    time_wait = states.get("TIME_WAIT", 0)
    tw_timeout = timeouts.get("tcp_timeout_time_wait")
    if (
        time_wait / total >= DOMINANT_STATE_SHARE
        and tw_timeout is not None
        and tw_timeout > KERNEL_TIME_WAIT
    ):
        items.append(
            AdviceItem(
                "time_wait_timeout",
                f"TIME_WAIT entries are {_pct(time_wait, total)} of the table",
                "Many short connections are being opened and closed; each stays "
                f"{tw_timeout} s after closing. Reusing connections (keepalive, pooling) at the "
                f"clients is the fix; {KERNEL_TIME_WAIT} s matches the kernel's own TCP TIME_WAIT.",
                names.sysctl_cmd(prefix, "tcp_timeout_time_wait", KERNEL_TIME_WAIT),
            )
        )
    return items


def _max_item(
    count,
    maximum,
    buckets,
    suggested_max,
    raise_max,
    per_entry,
    assumed,
    ram_bytes,
    netns,
    pointer_bits,
    names,
    namespaces: int = 0,
) -> AdviceItem:
    rule = f"RAM / 16384 / {pointer_bits // 32}"
    size = f"{per_entry} bytes per entry{' (assumed: slabinfo unreadable)' if assumed else ''}"
    caution = (
        "Raising the max alone only postpones the overflow while something keeps adding "
        "entries: it costs kernel memory{mem} and longer hash chains{chains}, so every new "
        "packet's lookup walks further. Find and stop the source of the entries first."
    )
    host = (
        f" {names.module}_max is global: set it on the host (initial namespace)." if netns else ""
    )
    if raise_max:
        extra = suggested_max * per_entry
        chains = (
            f" ({suggested_max / buckets:.1f} entries per bucket when full with today's "
            f"{buckets:,} buckets)"
            if buckets
            else " unless the hash grows with it"
        )
        return AdviceItem(
            "max",
            f"Raise {names.module}_max from {maximum:,} to {suggested_max:,} (RAM-based sizing)",
            f"{human_bytes(ram_bytes)} of RAM / 16384 / {pointer_bits // 32} = "
            f"{suggested_max:,} entries; full, they use {human_bytes(extra)} "
            f"({_pct(extra, ram_bytes)} of RAM) at {size}"
            + (
                f", in each of the {namespaces:,} namespaces that may fill up to it. "
                if namespaces > 1
                else ". "
            )
            + caution.format(mem=f" ({human_bytes(extra)} when full)", chains=chains)
            + host,
            names.sysctl_cmd("", "max", suggested_max),
        )
    if maximum is None:
        return AdviceItem("max", f"{names.module}_max unknown", "The limit could not be read.")
    if maximum == 0:
        # The old "set the max to 0" trick: the kernel then checks no limit at all.
        return AdviceItem(
            "max",
            f"{names.module}_max is 0: the table is unlimited",
            "A max of 0 means no limit, not no tracking: a flood grows the table until "
            "kernel memory is exhausted (at "
            f"{size}). Set a real limit"
            + (f" (RAM-based: {suggested_max:,}, {rule})." if suggested_max else ".")
            + host,
            names.sysctl_cmd("", "max", suggested_max) if suggested_max else None,
        )
    now = maximum * per_entry
    if suggested_max is not None and maximum >= suggested_max:
        why = (
            f"The max {maximum:,} is at or above the RAM-based size {suggested_max:,} "
            f"({rule}); full, the table uses {human_bytes(now)} "
            f"({_pct(now, ram_bytes)} of RAM) at {size}. "
        )
        title = f"Keep {names.module}_max: it is already at or above the RAM-based size"
    else:
        fill = f"{_pct(count, maximum)} full" if count is not None else "fill unknown"
        why = f"The table is {fill}; full, it uses {human_bytes(now)} at {size}. " + (
            f"RAM-based sizing ({rule}) would allow {suggested_max:,}. " if suggested_max else ""
        )
        title = f"No need to raise {names.module}_max now"
    return AdviceItem(
        "max", title, why + caution.format(mem="", chains=" unless the hash grows with it")
    )


def _buckets_item(
    count, buckets, target_max, suggested_buckets, pointer_bytes, names
) -> AdviceItem:
    now = f"{count / buckets:.2f}" if count is not None else "?"
    return AdviceItem(
        "buckets",
        f"Grow the hash from {buckets:,} to {suggested_buckets:,} buckets",
        f"The load factor (entries per bucket, the average chain a lookup walks) is {now} now "
        f"and {target_max / buckets:.1f} when {target_max:,} entries are in use. Current "
        "kernels size the hash at one bucket per entry of the max. It costs "
        f"{human_bytes(suggested_buckets * pointer_bytes)} ({pointer_bytes} bytes per bucket; "
        f"{human_bytes(buckets * pointer_bytes)} now). Only root in the initial namespace can "
        "change it; the kernel rehashes the table at once.",
        f"echo {suggested_buckets} > /sys/module/{names.module}/parameters/hashsize",
    )


__all__ = ["NEAR_FULL", "Advice", "AdviceItem", "NamespaceLoad", "advise", "human_bytes"]
