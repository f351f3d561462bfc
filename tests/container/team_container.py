"""A PeerDraft team instance in Docker, started from compose.yaml with host networking on loopback ports.

Used by tests/container/ and bench/container.py. The compose file each instance runs is compose.yaml's
`peerdraft` service as written (environment, volumes, read-only root, tmpfs, restart policy) with three
changes the test needs: host networking instead of published ports (the engine runs with
`--bridge=none`), the app on 127.0.0.1 and its own free ports, and the pre-built image instead of a build.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
IMAGE = "peerdraft:latest"
PASSWORD = "container test password"
HOW_TO_START = "run scripts/test.sh --container (installs docker.io, starts dockerd and builds the image)"


def docker_missing_reason(image: str = IMAGE) -> str | None:
    """Why the container tests cannot run here, or None when an engine answers and `image` is built."""
    if shutil.which("docker") is None:
        return f"no docker command: {HOW_TO_START}"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if info.returncode != 0:
        return f"no Docker engine is running ({info.stderr.strip()[:120]}): {HOW_TO_START}"
    if compose_command() is None:
        return f"neither 'docker compose' nor docker-compose is installed: {HOW_TO_START}"
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        return f"the image {image} is not built: {HOW_TO_START}"
    return None


def compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) where installed, else Debian's docker-compose (v1), else None."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 3) -> tuple[int, str]:
    """(status, body) of a GET, or (0, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except OSError as exc:
        return 0, str(exc)


@dataclass
class TeamInstance:
    """One compose project: its own volumes, its own loopback ports, started and stopped by the test."""

    project: str
    workdir: Path
    image: str = IMAGE
    app_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    compose_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.compose_file = self.workdir / "compose.yaml"
        spec = yaml.safe_load((REPO / "compose.yaml").read_text())
        service = spec["services"]["peerdraft"]
        service.pop("ports", None)
        service.pop("build", None)
        service["image"] = self.image
        service["network_mode"] = "host"
        service["command"] = ["run", "--host", "127.0.0.1", "--port", str(self.app_port)]
        # Only the probe's port differs from the image's HEALTHCHECK; interval and retries stay the image's.
        service["healthcheck"] = {"test": ["CMD", "curl", "-fsS", f"http://127.0.0.1:{self.app_port}/_stcore/health"]}
        service["restart"] = "no"  # a crash must fail the test, not be hidden by a restart loop
        spec["services"] = {"peerdraft": service}  # the gpu profile's vLLM is not part of the CPU test
        self.compose_file.write_text(yaml.safe_dump(spec, sort_keys=False))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    def env(self) -> dict:
        import os

        return {**os.environ, "PEERDRAFT_ADMIN_USER": "admin", "PEERDRAFT_ADMIN_PASSWORD": PASSWORD,
                "PEERDRAFT_METRICS_PORT": str(self.metrics_port),
                "PEERDRAFT_METRICS_HOST": "127.0.0.1"}  # host networking: loopback only

    def compose_args(self, *args: str) -> list[str]:
        return [*compose_command(), "-p", self.project, "-f", str(self.compose_file), *args]

    def compose(self, *args: str, timeout: float = 300, check: bool = True, input: str | None = None,
                ) -> subprocess.CompletedProcess:
        command = self.compose_args(*args)
        done = subprocess.run(command, env=self.env(), capture_output=True, text=True, timeout=timeout, input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}\n"
                                 f"{done.stderr[-2000:]}")
        return done

    def peerdraft(self, *args: str, input: str | None = None, timeout: float = 600, check: bool = True,
                  ) -> subprocess.CompletedProcess:
        """`docker compose exec -T peerdraft peerdraft ARGS` inside the running container."""
        return self.compose("exec", "-T", "peerdraft", "/app/.venv/bin/peerdraft", *args, input=input,
                            timeout=timeout, check=check)

    def shell(self, script: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        return self.compose("exec", "-T", "peerdraft", "sh", "-c", script, timeout=timeout, check=check)

    def container_id(self) -> str:
        return self.compose("ps", "-q", "peerdraft").stdout.strip()

    def inspect(self) -> dict:
        return json.loads(subprocess.run(["docker", "inspect", self.container_id()], capture_output=True,
                                         text=True, check=True).stdout)[0]

    def up(self, timeout: float = 300) -> float:
        """Start the service and wait until Docker reports it healthy; the seconds that took."""
        began = time.monotonic()
        self.compose("up", "-d", "--no-build")
        self.wait_healthy(timeout, began)
        return time.monotonic() - began

    def wait_healthy(self, timeout: float = 300, began: float | None = None) -> None:
        began = began or time.monotonic()
        status = "?"
        while time.monotonic() - began < timeout:
            state = self.inspect()["State"]
            status = state.get("Health", {}).get("Status", "none")
            if status == "healthy":
                return
            if not state["Running"]:
                break
            time.sleep(1)
        raise AssertionError(f"the container was {status!r}, not healthy, after {time.monotonic() - began:.0f} s:\n"
                             f"{self.logs()}")

    def logs(self, lines: int = 60) -> str:
        return self.compose("logs", "--no-color", "--tail", str(lines), check=False).stdout

    def down(self, volumes: bool = False) -> None:
        self.compose("down", *(["-v"] if volumes else []), "--timeout", "30", timeout=180, check=False)
