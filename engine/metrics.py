"""Prometheus metrics for a team instance, served by prometheus_client on their own port.

The module owns its registry (not prometheus_client's global one), so importing PeerDraft in
another process never mixes its series with the host's. Engine stages call the `record_*`
functions; they are cheap no-ops in spirit when no server runs (just counters in memory).
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)
ACTIVE_WINDOW_S = 15 * 60

GENERATION_SECONDS = Histogram(
    "peerdraft_generation_seconds", "Wall time of one LLM generation.", ["backend"], registry=REGISTRY,
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160))
GENERATION_TOKENS_PER_SECOND = Histogram(
    "peerdraft_generation_tokens_per_second", "New tokens per second of one LLM generation.", ["backend"],
    registry=REGISTRY, buckets=(1, 2, 5, 10, 20, 40, 80, 160, 320, 640))
GENERATED_TOKENS = Counter("peerdraft_generated_tokens", "New tokens generated.", ["backend"], registry=REGISTRY)
REQUESTS = Counter("peerdraft_requests", "Engine requests by kind (generate, search, check, export...).", ["kind"],
                   registry=REGISTRY)
ERRORS = Counter("peerdraft_errors", "Failed engine requests by kind.", ["kind"], registry=REGISTRY)
INDEX_CHUNKS = Gauge("peerdraft_index_chunks", "Chunks in the search index.", registry=REGISTRY)
INDEX_DOCUMENTS = Gauge("peerdraft_index_documents", "Documents in the search index.", registry=REGISTRY)
ACTIVE_USERS = Gauge("peerdraft_active_users", f"Users seen in the last {ACTIVE_WINDOW_S // 60} minutes.",
                     registry=REGISTRY)

_lock = threading.Lock()
_last_seen: dict[str, float] = {}
_server_port: int | None = None


def record_generation(seconds: float, new_tokens: int, backend: str = "unknown") -> None:
    """Count one finished generation: latency, tokens/s and tokens."""
    REQUESTS.labels(kind="generate").inc()
    GENERATION_SECONDS.labels(backend=backend).observe(max(0.0, seconds))
    GENERATED_TOKENS.labels(backend=backend).inc(max(0, new_tokens))
    if seconds > 0 and new_tokens > 0:
        GENERATION_TOKENS_PER_SECOND.labels(backend=backend).observe(new_tokens / seconds)


def record_request(kind: str) -> None:
    REQUESTS.labels(kind=kind).inc()


def record_error(kind: str) -> None:
    ERRORS.labels(kind=kind).inc()


def set_index_size(chunks: int, documents: int | None = None) -> None:
    INDEX_CHUNKS.set(chunks)
    if documents is not None:
        INDEX_DOCUMENTS.set(documents)


def note_active_user(name: str, now: float | None = None) -> None:
    """Mark a user as active (each page run calls this); the gauge counts names seen in the window."""
    now = time.time() if now is None else now
    with _lock:
        _last_seen[name] = now
        cutoff = now - ACTIVE_WINDOW_S
        for stale in [n for n, at in _last_seen.items() if at < cutoff]:
            del _last_seen[stale]
        ACTIVE_USERS.set(len(_last_seen))


def start_metrics_server(port: int, addr: str = "127.0.0.1") -> int:
    """Serve /metrics on `addr`:`port` (0 = any free port); calling again returns the running server's port.

    Loopback by default: the counters are for the operator, not for every network the host is on."""
    global _server_port
    with _lock:
        if _server_port is None:
            server, _thread = start_http_server(port, addr=addr, registry=REGISTRY)
            _server_port = server.server_port
        return _server_port
