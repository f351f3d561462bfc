"""The Prometheus endpoint serves real counters after engine activity."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from engine import metrics


def _scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_endpoint_reports_a_recorded_generation_and_gauges():
    port = metrics.start_metrics_server(0, addr="127.0.0.1")
    assert metrics.start_metrics_server(0, addr="127.0.0.1") == port  # idempotent
    before = _scrape(port)
    count_key = ("peerdraft_generation_seconds_count", (("backend", "test"),))
    metrics.record_generation(2.0, 100, backend="test")
    metrics.record_error("search")
    metrics.set_index_size(1234, documents=22)
    metrics.note_active_user("metrics-test-alice")
    metrics.note_active_user("metrics-test-bob")
    metrics.note_active_user("metrics-test-alice")
    after = _scrape(port)
    assert after[count_key] == before.get(count_key, 0) + 1
    assert after[("peerdraft_generation_seconds_sum", (("backend", "test"),))] >= 2.0
    tps = ("peerdraft_generation_tokens_per_second_bucket", (("backend", "test"), ("le", "80.0")))
    assert after[tps] >= 1  # 50 tok/s falls in the <= 80 bucket
    assert after[("peerdraft_generated_tokens_total", (("backend", "test"),))] >= 100
    assert after[("peerdraft_requests_total", (("kind", "generate"),))] >= 1
    assert after[("peerdraft_errors_total", (("kind", "search"),))] >= 1
    assert after[("peerdraft_index_chunks", ())] == 1234
    # Other tests in this process sign users in, and noting a user drops those seen too long ago.
    assert {"metrics-test-alice", "metrics-test-bob"} <= set(metrics._last_seen)
    assert after[("peerdraft_active_users", ())] == len(metrics._last_seen)


def test_users_unseen_for_the_window_stop_counting_as_active():
    metrics.note_active_user("old", now=0.0)
    metrics.note_active_user("new", now=metrics.ACTIVE_WINDOW_S + 10.0)
    assert "old" not in metrics._last_seen and "new" in metrics._last_seen


def test_the_metrics_endpoint_listens_on_loopback_unless_told_otherwise():
    import inspect

    from engine.settings import load_settings

    assert load_settings(env={}).metrics_host == "127.0.0.1"
    assert load_settings(env={"PEERDRAFT_METRICS_HOST": "0.0.0.0"}).metrics_host == "0.0.0.0"
    assert inspect.signature(metrics.start_metrics_server).parameters["addr"].default == "127.0.0.1"
