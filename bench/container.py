"""The Docker team instance's figures: image size, build time, start to healthy, a draft in the container vs the host.

    bench/container.py [--no-write]      (needs a Docker engine and the built image: scripts/test.sh --container)

Material: the bundled corpus notes (corpus/, written by the team) and one fixed brief; the same command
(`peerdraft draft --sections 1`, the default Qwen2.5-Coder-1.5B model, a fresh data directory, so the
timing includes indexing the bundled notes, loading the model, planning and one section) runs once in
the container and once on the host, one after the other. The build figure comes from
tests/artifacts/container/build.json, written by tests/container/run.sh when it built the image.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "container"))

from bench._results import write_section  # noqa: E402
from team_container import TeamInstance, docker_missing_reason, http_get  # noqa: E402

DRAFT = ["draft", "--topic", "Retrieval-augmented generation for question answering", "--sections", "1",
         "--length", "150", "--no-strict"]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def busy_processes() -> list[str]:
    """Other processes using CPU right now (from ps), to say what shared the machine."""
    out = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu", "--no-headers"], capture_output=True,
                         text=True).stdout.splitlines()
    rows = [line.strip() for line in out if line.strip() and float(line.split()[0]) >= 20]
    return [" ".join(row.split()[1:4])[:70] for row in rows[:5]]


def timed(command: list[str], env: dict | None = None, timeout: float = 1800) -> float:
    began = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])}… exited {done.returncode}:\n{done.stderr[-2000:]}")
    return time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    reason = docker_missing_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 2
    image_bytes = int(subprocess.run(["docker", "image", "inspect", "peerdraft:latest", "--format", "{{.Size}}"],
                                     capture_output=True, text=True, check=True).stdout)
    build_file = REPO / "tests" / "artifacts" / "container" / "build.json"
    build = json.loads(build_file.read_text()) if build_file.exists() else {}

    workdir = Path(tempfile.mkdtemp(prefix="bench-container-"))
    team = TeamInstance(f"pdbench{int(time.time())}", workdir / "a")
    rows, notes = [], [f"load average at start {load()}"]
    try:
        began = time.monotonic()
        team.compose("up", "-d", "--no-build")
        while http_get(f"{team.url}/_stcore/health", timeout=1)[0] != 200:
            if time.monotonic() - began > 300:
                raise SystemExit("the app did not answer /_stcore/health within 300 s:\n" + team.logs())
            time.sleep(0.25)
        answered_s = time.monotonic() - began
        team.wait_healthy(300, began)
        healthy_s = time.monotonic() - began

        notes.append("busy during the container draft: " + ("; ".join(busy_processes()) or "nothing else"))
        container_s = timed([*team.compose_args("exec", "-T", "-e", "PEERDRAFT_DATA_DIR=/tmp/bench", "peerdraft",
                                                "/app/.venv/bin/peerdraft", *DRAFT)], env=team.env())
    finally:
        team.down(volumes=True)
    host_env = {k: v for k, v in os.environ.items() if not k.startswith("PEERDRAFT_")}
    host_env.update(PEERDRAFT_DATA_DIR=str(workdir / "host-data"), PEERDRAFT_CONFIG=str(workdir / "none.toml"),
                    HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    notes.append("busy during the host draft: " + ("; ".join(busy_processes()) or "nothing else"))
    host_s = timed([str(REPO / ".venv" / "bin" / "peerdraft"), *DRAFT], env=host_env)
    notes.append(f"load average at the end {load()}")

    rows = [
        ("image size (`docker image inspect`, uncompressed)", f"{image_bytes / 1e9:.2f} GB"),
        ("build from the wheelhouse (tests/container/run.sh)",
         f"{build['build_seconds']} s ({build['cached_steps']} steps cached; load {build['load']})" if build
         else "not measured (no build.json)"),
        ("`compose up` to `/_stcore/health` answering", f"{answered_s:.1f} s"),
        ("`compose up` to Docker's healthcheck `healthy` (10 s interval)", f"{healthy_s:.1f} s"),
        ("first draft, container (`peerdraft draft --sections 1`, fresh data)", f"{container_s:.0f} s"),
        ("the same draft on the host (.venv)", f"{host_s:.0f} s"),
        ("container / host", f"{container_s / host_s:.2f}"),
    ]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    table = ["| figure | value |", "|---|---|", *[f"| {name} | {value} |" for name, value in rows]]
    text = "\n".join([
        f"## Docker team instance ({stamp}, bench/container.py; shared 2-core machine)", "",
        "Material: the bundled corpus notes (written by the team) and one fixed brief; default model "
        "Qwen2.5-Coder-1.5B Q4_K_M through llama.cpp, the same command in the container and on the host, "
        "run once each, one after the other.", "", *table, "", *[f"- {note}" for note in notes]])
    print(text)
    if not args.no_write:
        write_section("container", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
