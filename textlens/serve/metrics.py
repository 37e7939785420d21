"""The service's Prometheus metrics, in a registry of their own (one per app, so apps in one process stay apart)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: Seconds: from a fast crop to a long PDF.
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    """requests by route and status, latency by route, pages read, errors by route and kind, queue depth,
    requests in flight and workers ready."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "textlens_serve_requests", "HTTP requests answered, by route and status", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "textlens_serve_request_seconds",
            "Seconds to answer a request, by route",
            ["route"],
            buckets=BUCKETS,
            registry=r,
        )
        self.pages = Counter("textlens_serve_pages", "Pages (or crops) read", registry=r)
        self.errors = Counter(
            "textlens_serve_errors",
            "Requests answered with an error, by route and error name",
            ["route", "error"],
            registry=r,
        )
        self.queue_depth = Gauge("textlens_serve_queue_depth", "Accepted requests waiting for a worker", registry=r)
        self.in_flight = Gauge("textlens_serve_in_flight", "Accepted requests not yet answered", registry=r)
        self.workers_ready = Gauge("textlens_serve_workers_ready", "1 when every worker has its models", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
