"""Naming network namespaces: containers and pods from cgroup paths, and the choice of a name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

# The kinds a namespace can have, in the order a name is chosen (see choose_name).
KINDS = ("host", "named", "container", "pod", "process", "unreachable")
NAME_CHARS = 120  # a name longer than this is cut: it is a label, not an identifier
SHORT_ID = 12  # container ids are shown as `docker ps` shows them

_HEX_ID = r"[0-9a-f]{64}"
_UID = r"[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}"
# Kubernetes pod slices and directories. systemd driver:
#   /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid, _ for ->.slice/...
# cgroupfs driver:
#   /kubepods/burstable/pod<uid>/<container id>
_POD = re.compile(rf"(?:^|/)(?:kubepods[\w-]*-)?pod({_UID})(?:\.slice)?(?:/|$)")
# One container scope or directory, by runtime. The id is 64 hex digits in every runtime
# here; the systemd driver wraps it in `<prefix>-<id>.scope`, cgroupfs uses a plain
# directory (docker: /docker/<id>, k8s cgroupfs: the leaf under pod<uid>).
_SCOPES = (
    ("docker", re.compile(rf"(?:^|/)docker-({_HEX_ID})\.scope(?:/|$)")),
    ("docker", re.compile(rf"(?:^|/)docker/({_HEX_ID})(?:/|$)")),
    ("containerd", re.compile(rf"(?:^|/)cri-containerd-({_HEX_ID})\.scope(?:/|$)")),
    ("cri-o", re.compile(rf"(?:^|/)crio-({_HEX_ID})\.scope(?:/|$)")),
    ("containerd", re.compile(rf"(?:^|/)nerdctl-({_HEX_ID})\.scope(?:/|$)")),
    ("podman", re.compile(rf"(?:^|/)libpod-({_HEX_ID})\.scope(?:/|$)")),
    ("podman", re.compile(rf"(?:^|/)libpod_parent/libpod-({_HEX_ID})(?:/|$)")),
)
# Kubernetes cgroupfs driver: the container is a plain 64-hex directory under pod<uid>.
_POD_LEAF = re.compile(rf"/pod{_UID}/({_HEX_ID})(?:/|$)")
# systemd-nspawn and machinectl: /machine.slice/machine-<escaped name>.scope, or (systemd
# 2xx+ `machinectl start`) /machine.slice/systemd-nspawn@<escaped name>.service/payload.
# Podman's machine-libpod_pod_<id>.slice is a podman pod, not a machine.
_MACHINE = re.compile(r"(?:^|/)machine-(?!libpod)([^/]+)\.scope(?:/|$)")
_NSPAWN = re.compile(r"(?:^|/)systemd-nspawn@([^/]+)\.service(?:/|$)")
_PODMAN_POD = re.compile(r"(?:^|/)machine-libpod_pod_([0-9a-f]{64})\.slice(?:/|$)")
# LXC 4+ and LXD: /lxc.payload.<name>; older LXC: /lxc/<name>.
_LXC = re.compile(r"(?:^|/)(?:lxc\.payload\.|lxc/)([^/]+)(?:/|$)")
# kubelet writes each pod's logs under /var/log/pods/<namespace>_<pod name>_<pod uid>.
_POD_LOG_DIR = re.compile(rf"([a-z0-9][a-z0-9-]{{0,62}})_([a-z0-9][a-z0-9.-]{{0,252}})_({_UID})")
_SYSTEMD_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


@dataclass(frozen=True)
class Workload:
    """What a cgroup path says runs there: a container, or a container of a pod."""

    runtime: str  # docker, containerd, cri-o, podman, systemd-nspawn, lxc, kubernetes
    container: str  # full id or machine name; "" when only the pod is known
    pod_uid: str = ""  # Kubernetes pod UID (dashes), or a podman pod id
    pod_namespace: str = ""
    pod_name: str = ""

    @property
    def kind(self) -> str:
        return "pod" if self.pod_uid else "container"

    def label(self) -> str:
        if self.pod_uid:
            if self.pod_name:
                return (
                    f"{self.pod_namespace}/{self.pod_name}" if self.pod_namespace else self.pod_name
                )
            return f"pod {self.pod_uid}"
        return f"{self.runtime} {self.short}"

    @property
    def short(self) -> str:
        """The id as `docker ps` shows it (12 hex digits); a machine name as it is."""
        if len(self.container) == 64 and all(c in "0123456789abcdef" for c in self.container):
            return self.container[:SHORT_ID]
        return self.container


def unescape_systemd(text: str) -> str:
    """systemd unit-name escaping undone: `my\\x2dbox` is `my-box` (systemd.unit(5))."""
    return _SYSTEMD_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def cgroup_paths(text: str) -> list:
    """The paths of a /proc/PID/cgroup file: the v2 line (`0::/path`) first, then the v1
    lines (`N:controllers:/path`), named systemd hierarchy before the others."""
    found = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[2].startswith("/"):
            continue
        rank = 0 if parts[0] == "0" and parts[1] == "" else 1 if "name=systemd" in parts[1] else 2
        found.append((rank, parts[2]))
    return [path for _, path in sorted(found, key=lambda item: item[0])]


def workload_of(path: str) -> Optional[Workload]:
    """The container or pod a cgroup path belongs to, or None for a plain service."""
    pod = _POD.search(path)
    pod_uid = pod.group(1).replace("_", "-") if pod else ""
    for runtime, pattern in _SCOPES:
        found = pattern.search(path)
        if found:
            return Workload(runtime, found.group(1), pod_uid)
    if pod_uid:
        leaf = _POD_LEAF.search(path)
        container = leaf.group(1) if leaf else ""
        return Workload("kubernetes", container, pod_uid)
    podman_pod = _PODMAN_POD.search(path)
    if podman_pod:
        return Workload("podman", "", podman_pod.group(1)[:SHORT_ID])
    for pattern in (_MACHINE, _NSPAWN):
        found = pattern.search(path)
        if found:
            return Workload("systemd-nspawn", unescape_systemd(found.group(1)))
    found = _LXC.search(path)
    if found:
        return Workload("lxc", found.group(1))
    return None


def workload_from_cgroup(text: str) -> Optional[Workload]:
    """The first container or pod any hierarchy of a /proc/PID/cgroup file names."""
    for path in cgroup_paths(text):
        found = workload_of(path)
        if found is not None:
            return found
    return None


def pod_log_dir(name: str) -> Optional[tuple]:
    """(namespace, pod name, uid) from a /var/log/pods directory name, else None."""
    found = _POD_LOG_DIR.fullmatch(name)
    if not found:
        return None
    return found.group(1), found.group(2), found.group(3)


def docker_name(config: dict) -> str:
    """The name `docker ps` shows, from a container's config.v2.json ("Name": "/web")."""
    name = config.get("Name") if isinstance(config, dict) else None
    return name.lstrip("/") if isinstance(name, str) else ""


def choose_name(
    named: tuple,
    workload: Optional[Workload],
    hostname: str,
    command: str,
    pid: Optional[int],
) -> tuple:
    """(name, kind) in the order a person knows them: the /run/netns name, the container
    or pod, the UTS hostname of a process inside, the oldest process's command line."""
    if named:
        return named[0], "named"
    if workload is not None:
        return workload.label(), workload.kind
    if hostname:
        return hostname, "process"
    if pid is not None:
        return (f"{command} (pid {pid})" if command else f"pid {pid}"), "process"
    return "", "unreachable"
