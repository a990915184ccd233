"""The prometheus_client Collector: each scrape renders the latest Answers, never scans."""

from __future__ import annotations

from typing import Callable, Optional

from prometheus_client.registry import CollectorRegistry

from ctwatch.faces.exporter.metrics import metric_families


class AnswersCollector:
    """`answers()` gives the latest Answers (None before the first poll); `counters()` a
    fresh reading of the cheap counters (None: use the Answers' own)."""

    def __init__(
        self,
        answers: Callable,
        counters: Optional[Callable] = None,
        *,
        netns: Optional[str] = None,
        node_names: bool = False,
        top_netns: int = 50,
    ) -> None:
        self._answers = answers
        self._counters = counters or (lambda: None)
        self.netns = netns
        self.node_names = node_names
        self.top_netns = top_netns

    def collect(self):
        return metric_families(
            self._answers(),
            self._counters(),
            netns=self.netns,
            node_names=self.node_names,
            top_netns=self.top_netns,
        )

    def describe(self):
        # Nothing up front: the registry would otherwise call collect() at registration.
        return []


def registry_for(collector: AnswersCollector) -> CollectorRegistry:
    """A registry of ours alone: the default one adds Python's process and GC metrics,
    which are not ctwatch's and would collide beside another Python exporter."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
