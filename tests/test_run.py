"""`peerdraft run`: the desktop start, through the real CLI entry point and a real Streamlit server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "peerdraft"
    return ([str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]) + list(args)


def env_for(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERDRAFT_")}
    env.update(PEERDRAFT_DATA_DIR=str(data_dir), PEERDRAFT_CONFIG=str(data_dir.parent / "absent.toml"),
               PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1")
    return env


class Server:
    """A `peerdraft run` child whose stdout is read line by line."""

    def __init__(self, data_dir: Path, port: int):
        self.data_dir, self.port = data_dir, port
        self.process = subprocess.Popen(cli("run", "--port", str(port)), cwd=REPO, env=env_for(data_dir),
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, needle: str, timeout: float = START_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [line for line in self.lines if needle in line]
            if found:
                return found[0]
            if self.process.poll() is not None:
                time.sleep(0.5)  # let the reader catch the last lines
                found = [line for line in self.lines if needle in line]
                if found:
                    return found[0]
                break
            time.sleep(0.1)
        raise AssertionError(f"no line with {needle!r}; output so far:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        """Ctrl+C, so that `peerdraft run` takes its Streamlit child down too; kill only as a last resort."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "data", free_port())
    yield running
    running.stop()


def test_start_prints_the_url_and_records_it_in_run_json(server):
    line = server.wait_for_line("PeerDraft is running at")
    url = f"http://localhost:{server.port}"
    assert url in line
    marker = json.loads((server.data_dir / "run.json").read_text())
    assert marker["url"] == url and isinstance(marker["pid"], int)


def test_second_start_on_the_same_data_dir_says_where_it_runs(server):
    server.wait_for_line("PeerDraft is running at")
    second = subprocess.run(cli("run", "--port", str(free_port())), cwd=REPO, env=env_for(server.data_dir),
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert f"PeerDraft is already running at http://localhost:{server.port}" in second.stdout


def test_start_on_a_port_in_use_names_the_fix(server, tmp_path):
    server.wait_for_line("PeerDraft is running at")
    other = subprocess.run(cli("run", "--port", str(server.port)), cwd=REPO, env=env_for(tmp_path / "other"),
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 1
    assert f"port {server.port} is in use" in other.stderr and "--port" in other.stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_stops_cleanly_and_removes_run_json(server, signum):
    server.wait_for_line("PeerDraft is running at")
    assert (server.data_dir / "run.json").exists()
    server.process.send_signal(signum)
    server.wait_for_line("PeerDraft stopped.", timeout=30)
    assert server.process.wait(timeout=30) == 0
    assert not (server.data_dir / "run.json").exists()
    with socket.socket() as sock:  # the Streamlit child is gone too: its port is free again
        assert sock.connect_ex(("127.0.0.1", server.port)) != 0


def test_stale_run_json_from_a_crashed_start_does_not_block_a_new_start(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (data_dir / "run.json").write_text(json.dumps({"pid": dead.pid, "url": "http://localhost:1"}))
    fresh = Server(data_dir, free_port())
    try:
        fresh.wait_for_line("PeerDraft is running at")
    finally:
        fresh.stop()
