"""Where container runtimes keep the names people know: kubelet's pod log dirs, docker's config."""

from __future__ import annotations

import json
import os

from ctwatch.sources.base import SourceError, under
from ctwatch.sources.reads import read_bytes

POD_LOGS = "/var/log/pods"
DOCKER_CONTAINERS = "/var/lib/docker/containers"
POD_LOG_DIRS_MAX = 10000
DOCKER_CONFIG_CAP = 4 * 1024 * 1024


def pod_log_dirs(root: str = "/") -> list:
    """Directory names under /var/log/pods (`<namespace>_<pod>_<uid>`), for pod names."""
    try:
        with os.scandir(under(root, POD_LOGS)) as listing:
            names = []
            for entry in listing:
                names.append(entry.name)
                if len(names) >= POD_LOG_DIRS_MAX:
                    break
            return names
    except OSError:
        return []


def docker_config(root: str, container_id: str) -> dict:
    """A docker container's config.v2.json (its name is there), or {} when unreadable."""
    if len(container_id) != 64 or not all(c in "0123456789abcdef" for c in container_id):
        return {}
    path = under(root, f"{DOCKER_CONTAINERS}/{container_id}/config.v2.json")
    try:
        data = json.loads(read_bytes(path, DOCKER_CONFIG_CAP).decode("utf-8", "replace"))
    except (OSError, SourceError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}
