"""`peerdraft run`: start the Streamlit app, print its URL, optionally open a browser."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path

from engine.settings import Settings

APP = Path(__file__).resolve().parents[2] / "app.py"


def register(subparsers) -> None:
    parser = subparsers.add_parser("run", help="start the PeerDraft web app")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PEERDRAFT_PORT", "8501")))
    parser.add_argument("--host", default=os.environ.get("PEERDRAFT_HOST", "127.0.0.1"),
                        help="address to listen on (0.0.0.0 in Docker)")
    parser.add_argument("--open", action="store_true", help="open the default browser when the app is ready")
    parser.set_defaults(func=run)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def running_instance(settings: Settings) -> str | None:
    """The URL of an app already serving this data directory, if one is running."""
    marker = settings.data_dir / "run.json"
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if _alive(int(info.get("pid", -1))) and _healthy(info.get("url", "")):
        return info["url"]
    return None


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host if host != "0.0.0.0" else "127.0.0.1", port)) != 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(args, settings: Settings) -> int:
    existing = running_instance(settings)
    if existing:
        print(f"PeerDraft is already running at {existing} (data directory {settings.data_dir}).")
        if args.open:
            webbrowser.open(existing)
        return 0
    if not _port_free(args.host, args.port):
        print(f"peerdraft: error: port {args.port} is in use by another program. "
              "Choose another with --port.", file=sys.stderr)
        return 1
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shown_host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    url = f"http://{shown_host}:{args.port}"
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(args.port),
               "--server.address", args.host, "--server.headless", "true",
               "--browser.gatherUsageStats", "false"]
    env = dict(os.environ, PEERDRAFT_DATA_DIR=str(settings.data_dir.resolve()))
    process = subprocess.Popen(command, env=env)
    # docker stop (SIGTERM) → the same clean shutdown as Ctrl+C. SIGINT too, explicitly: a shell starts
    # background jobs with SIGINT ignored, and Python then keeps it ignored (`kill -INT` would do nothing).
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    marker = settings.data_dir / "run.json"
    marker.write_text(json.dumps({"pid": process.pid, "url": url}))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None and not _healthy(url):
            time.sleep(0.3)
        if process.poll() is None:
            print(f"PeerDraft is running at {url}  (Ctrl+C to stop)", flush=True)
            if args.open:
                webbrowser.open(url)
        return process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        print("PeerDraft stopped.", flush=True)
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
        marker.unlink(missing_ok=True)
