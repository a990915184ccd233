"""Naming namespaces: cgroup paths of each container runtime, pod log dirs, the order of names."""

from __future__ import annotations

import pytest

from ctwatch.model.netns_names import (
    Workload,
    cgroup_paths,
    choose_name,
    docker_name,
    pod_log_dir,
    unescape_systemd,
    workload_from_cgroup,
    workload_of,
)

ID = "ae836c95b4c3c9e9179e0e91015512da89fdec91612f63cebae57df9a5444c79"  # Docker's docs
PODMAN_ID = "2521e906f0a0c758c3a7dc4fd68c197e32e96abb4b36807d0b0ede6d014a7c24"
UID = "e9fd6274-59d1-11e9-af90-9e3c8464d679"
UID_ = UID.replace("-", "_")

# Real layouts, as the runtimes document or print them (sources in the comments).
SAMPLES = [
    # Docker, cgroup v1 with the cgroupfs driver: "/sys/fs/cgroup/memory/docker/<longid>/"
    # (docs.docker.com, Runtime metrics).
    (f"4:memory:/docker/{ID}", Workload("docker", ID)),
    # Docker, systemd driver (v1 and v2): "/sys/fs/cgroup/system.slice/docker-<longid>.scope".
    (f"0::/system.slice/docker-{ID}.scope", Workload("docker", ID)),
    (f"1:name=systemd:/system.slice/docker-{ID}.scope", Workload("docker", ID)),
    # containerd CRI, systemd driver: kubepods QoS slices, the pod UID with _ for -.
    (
        "0::/kubepods.slice/kubepods-besteffort.slice/"
        f"kubepods-besteffort-pod{UID_}.slice/cri-containerd-{ID}.scope",
        Workload("containerd", ID, UID),
    ),
    # Guaranteed pods have no QoS slice.
    (
        f"0::/kubepods.slice/kubepods-pod{UID_}.slice/cri-containerd-{ID}.scope",
        Workload("containerd", ID, UID),
    ),
    # CRI-O, systemd driver.
    (
        f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_}.slice/"
        f"crio-{ID}.scope",
        Workload("cri-o", ID, UID),
    ),
    # Kubernetes with the cgroupfs driver: /kubepods/<qos>/pod<uid>/<container id>.
    (f"0::/kubepods/burstable/pod{UID}/{ID}", Workload("kubernetes", ID, UID)),
    (f"0::/kubepods/pod{UID}/{ID}", Workload("kubernetes", ID, UID)),
    # Podman rootful, v1 (podman issue 10602: name=systemd ends in /init.scope).
    (
        f"12:pids:/machine.slice/libpod-{PODMAN_ID}.scope\n"
        f"1:name=systemd:/machine.slice/libpod-{PODMAN_ID}.scope/init.scope\n",
        Workload("podman", PODMAN_ID),
    ),
    # Podman rootless with crun, v2 (podman issue 20423): a /container leaf under the scope.
    (
        "0::/user.slice/user-0.slice/user@0.service/machine.slice/"
        f"libpod-{PODMAN_ID}.scope/container",
        Workload("podman", PODMAN_ID),
    ),
    # Podman with the cgroupfs manager (podman issue 826).
    (f"4:memory:/libpod_parent/libpod-{PODMAN_ID}/ctr", Workload("podman", PODMAN_ID)),
    # A podman pod's infra container sits in its pod's slice.
    (
        f"0::/machine.slice/machine-libpod_pod_{ID}.slice/libpod-{PODMAN_ID}.scope",
        Workload("podman", PODMAN_ID),
    ),
    # systemd-nspawn / machinectl: machine-<escaped name>.scope (systemd.unit(5) escapes).
    (r"0::/machine.slice/machine-my\x2dbox.scope/payload", Workload("systemd-nspawn", "my-box")),
    (
        r"0::/machine.slice/systemd-nspawn@web\x2d01.service/payload",
        Workload("systemd-nspawn", "web-01"),
    ),
    # LXC 4+ and LXD.
    ("0::/lxc.payload.builder/init.scope", Workload("lxc", "builder")),
]


@pytest.mark.parametrize("text,expected", SAMPLES, ids=[str(i) for i in range(len(SAMPLES))])
def test_runtime_cgroup_paths(text, expected):
    assert workload_from_cgroup(text) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/system.slice/sshd.service",
        "/user.slice/user-1000.slice/session-3.scope",
        f"/machine.slice/libpod-conmon-{PODMAN_ID}.scope",  # conmon, not the container
        "/system.slice/docker-abc.scope",  # not a 64-hex id
        "/system.slice/docker.service",
    ],
)
def test_plain_services_are_no_workload(path):
    assert workload_of(path) is None


def test_v2_line_is_read_before_v1_lines():
    text = f"5:devices:/docker/{ID}\n0::/system.slice/docker-{PODMAN_ID}.scope\n"
    assert cgroup_paths(text)[0] == f"/system.slice/docker-{PODMAN_ID}.scope"
    assert workload_from_cgroup(text).container == PODMAN_ID


def test_labels():
    assert Workload("docker", ID).label() == "docker ae836c95b4c3"
    assert Workload("systemd-nspawn", "my-box").label() == "systemd-nspawn my-box"
    assert Workload("containerd", ID, UID).label() == f"pod {UID}"
    named = Workload("containerd", ID, UID, "default", "web-7d9f")
    assert named.label() == "default/web-7d9f" and named.kind == "pod"


def test_unescape_systemd():
    assert unescape_systemd(r"a\x2db\x2fc") == "a-b/c"
    assert unescape_systemd("plain") == "plain"


def test_pod_log_dirs():
    assert pod_log_dir(f"kube-system_coredns-5d78c9869d-abcde_{UID}") == (
        "kube-system",
        "coredns-5d78c9869d-abcde",
        UID,
    )
    assert pod_log_dir("not-a-pod") is None
    assert pod_log_dir(f"Bad_Upper_{UID}") is None


def test_docker_name():
    assert docker_name({"Name": "/web"}) == "web"
    assert docker_name({"Name": 5}) == ""
    assert docker_name([]) == ""


def test_name_order():
    pod = Workload("containerd", ID, UID, "default", "web")
    assert choose_name(("blue",), pod, "h", "sleep 1", 7) == ("blue", "named")
    assert choose_name((), pod, "h", "sleep 1", 7) == ("default/web", "pod")
    assert choose_name((), Workload("docker", ID), "h", "sleep", 7)[1] == "container"
    assert choose_name((), None, "box1", "sleep 1", 7) == ("box1", "process")
    assert choose_name((), None, "", "sleep 1", 7) == ("sleep 1 (pid 7)", "process")
    assert choose_name((), None, "", "", None) == ("", "unreachable")
