"""Browser-test fixtures: the real app on a free loopback port, headless Debian Chromium, and helpers.

Everything here is offline: Chromium and chromedriver come from Debian packages at fixed paths,
and Selenium Manager is never asked to download a driver (explicit Service path, SE_OFFLINE).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never reach the network

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = REPO / "tests" / "artifacts" / "e2e"
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_S = 180

# Console messages that are not app failures. Each entry says why it is harmless.
BENIGN_CONSOLE = [
    # Chromium asks for /favicon.ico before the app sets its own icon; a 404 there is cosmetic.
    re.compile(r"favicon\.ico"),
    # The optional host-config and health polls race the websocket at start and on shutdown.
    re.compile(r"_stcore/(health|host-config)"),
]


def browser_missing_reason() -> str | None:
    """Why browser tests cannot run here, or None when Chromium and chromedriver are installed."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists():
            return (f"{binary} is missing: install Debian's chromium and chromium-driver "
                    "(scripts/setup.sh --dev does it) to run the browser tests")
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class RunningApp:
    """A `peerdraft run` process serving one fresh data directory."""

    url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    env: dict = field(repr=False)
    started_s: float = 0.0  # seconds from launch until /_stcore/health answered

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Ctrl+C, as a person would; kill only if it does not stop within 45 s.

        `peerdraft run` itself gives Streamlit 15 s before killing it; killing `peerdraft run` sooner
        would leave the Streamlit child running."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def peerdraft_command() -> list[str]:
    """The installed `peerdraft` entry point, or the module when the venv has no script."""
    script = VENV_BIN / "peerdraft"
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.cli"]


def app_env(data_dir: Path, **extra: str) -> dict:
    """The environment of an app under test: fresh data dir, no config file, nothing from the net."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEERDRAFT_")}
    env.update(PEERDRAFT_DATA_DIR=str(data_dir), PEERDRAFT_CONFIG=str(data_dir.parent / "absent.toml"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1",
               PEERDRAFT_LLM_PROFILE="small")  # the browser flow tests plumbing; tests/test_article.py judges writing
    env.update(extra)
    return env


def start_app(workdir: Path, **extra_env: str) -> RunningApp:
    """Launch `peerdraft run --port P` in a subprocess and wait until Streamlit answers its health check."""
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = app_env(data_dir, **extra_env)
    log_path = workdir / "app.log"
    log = log_path.open("w")
    began = time.monotonic()
    process = subprocess.Popen(peerdraft_command() + ["run", "--port", str(port)], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    app = RunningApp(f"http://127.0.0.1:{port}", data_dir, process, log_path, env)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not healthy(app.url):
        if process.poll() is not None:
            raise RuntimeError(f"peerdraft run exited with {process.returncode}:\n{app.log_tail()}")
        if time.monotonic() > deadline:
            app.stop()
            raise RuntimeError(f"the app did not answer /_stcore/health within {START_TIMEOUT_S} s:\n"
                               f"{app.log_tail()}")
        time.sleep(0.2)
    app.started_s = time.monotonic() - began
    return app


def add_user(app_env_: dict, name: str, role: str, password: str) -> None:
    """Create a team account with the CLI, as an operator would (password on stdin)."""
    subprocess.run(peerdraft_command() + ["user", "add", name, "--role", role, "--password-stdin"],
                   input=password + "\n", text=True, env=app_env_, cwd=REPO, check=True,
                   capture_output=True, timeout=120)


def make_driver(download_dir: Path):
    """Headless Debian Chromium through Debian's chromedriver, downloads going to `download_dir`."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = download_dir.parent / "chromium-profile"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {
        "download.default_directory": str(download_dir),
        "download.prompt_for_download": False,
        "download.directory_upgrade": True,
        "safebrowsing.enabled": False,
    })
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    driver.set_page_load_timeout(120)
    return driver


# ---- page helpers ---------------------------------------------------------------------------------
class Browser:
    """A Selenium driver plus the Streamlit-aware waits and checks the flow tests need."""

    def __init__(self, driver, base_url: str, download_dir: Path):
        self.driver = driver
        self.base_url = base_url
        self.download_dir = download_dir
        self.shots_dir = ARTIFACTS / "unnamed"
        self.shot_count = 0

    # -- navigation and waiting --
    def open(self, path: str = "", timeout: float = 120) -> None:
        self.driver.get(f"{self.base_url}/{path.lstrip('/')}")
        self.wait_idle(timeout)

    def script_state(self) -> tuple[str | None, str | None]:
        """(script run state, connection state) as Streamlit writes them on the stApp element."""
        return self.driver.execute_script(
            "const a = document.querySelector('[data-testid=stApp]');"
            "return a ? [a.getAttribute('data-test-script-state'), a.getAttribute('data-test-connection-state')]"
            " : [null, null];")

    def is_idle(self) -> bool:
        state, connection = self.script_state()
        if state not in ("notRunning",) or connection != "CONNECTED":
            return False
        return not self.driver.execute_script(
            "const w = document.querySelector('[data-testid=stStatusWidget]');"
            "return !!(w && /Running|Stop/i.test(w.innerText));")

    def wait_idle(self, timeout: float = 120, settle: float = 0.4) -> None:
        """Wait until the script run has finished and stayed finished for `settle` seconds."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if self.is_idle():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    self.assert_clean()
                    return
            else:
                quiet_since = None
            time.sleep(0.1)
        self.shot("timeout-idle")
        raise AssertionError(f"Streamlit still running after {timeout} s (state {self.script_state()})")

    def wait_for(self, css: str, text: str | None = None, timeout: float = 120, idle: bool = True,
                 visible: bool = True):
        """The first (visible) element matching `css` (and containing `text`), once Streamlit is idle."""
        from selenium.common.exceptions import StaleElementReferenceException

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for element in self.driver.find_elements("css selector", css):
                    shown = element.is_displayed() or not visible
                    if shown and (text is None or text.lower() in element.text.lower()):
                        if idle:
                            self.wait_idle(max(1.0, deadline - time.monotonic()))
                        return element
            except StaleElementReferenceException:
                pass
            self.assert_clean()
            time.sleep(0.2)
        self.shot("timeout-" + re.sub(r"\W+", "-", css)[:40])
        raise AssertionError(f"no {'visible ' if visible else ''}{css!r}" + (f" containing {text!r}" if text else "")
                             + f" within {timeout} s")

    def wait_text(self, text: str, timeout: float = 120) -> None:
        """Wait until the main area shows `text` (case-insensitive) and Streamlit is idle."""
        self.wait_for("[data-testid=stMain]", text, timeout)

    def page_text(self) -> str:
        return self.driver.find_element("css selector", "[data-testid=stMain]").text

    # -- widgets --
    def widget(self, testid: str, label: str, timeout: float = 60):
        """The widget container of type `testid` whose label contains `label`."""
        return self.wait_for(f"[data-testid={testid}]", label, timeout)

    def button(self, label: str, timeout: float = 60):
        """A button (plain, form submit, download) whose text contains `label`."""
        from selenium.common.exceptions import StaleElementReferenceException

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                for element in self.driver.find_elements("css selector", "button"):
                    if element.is_displayed() and label.lower() in element.text.lower():
                        return element
            except StaleElementReferenceException:
                pass
            time.sleep(0.2)
        self.shot("no-button")
        raise AssertionError(f"no visible button labelled {label!r} within {timeout} s")

    def tab(self, label: str) -> None:
        """Open the st.tabs tab titled exactly `label`."""
        tabs = [t for t in self.driver.find_elements("css selector", "[role=tab]") if t.text.strip() == label]
        assert tabs, f"no tab {label!r}"
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", tabs[0])
        tabs[0].click()
        time.sleep(0.3)
        self.wait_idle()

    def click(self, label: str, wait: bool = True) -> None:
        element = self.button(label)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()
        if wait:
            time.sleep(0.3)  # let the rerun request reach the server before waiting for idle
            self.wait_idle()

    def fill(self, testid: str, label: str, value: str, commit: bool = True) -> None:
        """Type `value` into the text input/area labelled `label` and commit it (Tab / Ctrl+Enter)."""
        from selenium.webdriver.common.keys import Keys

        container = self.widget(testid, label)
        field_ = container.find_element("css selector", "input, textarea")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field_)
        field_.click()
        field_.send_keys(Keys.CONTROL, "a")
        field_.send_keys(Keys.DELETE)
        field_.send_keys(value)
        if commit:
            if field_.tag_name == "textarea":
                field_.send_keys(Keys.CONTROL, Keys.ENTER)
            else:
                field_.send_keys(Keys.TAB)
            time.sleep(0.3)
            self.wait_idle()

    def select(self, label: str, option: str) -> None:
        """Choose `option` in the selectbox labelled `label` (type to filter, Enter to pick)."""
        from selenium.webdriver.common.keys import Keys

        box = self.widget("stSelectbox", label).find_element("css selector", "input")
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
        box.click()
        box.send_keys(option)
        self.wait_for("[role=option]", option, timeout=15, idle=False)
        box.send_keys(Keys.ENTER)
        time.sleep(0.3)
        self.wait_idle()

    def edit_cell(self, old: str, new: str, grid_index: int = 0) -> None:
        """Replace the text of the st.data_editor cell showing `old` with `new` (keyboard, as a person would)."""
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys

        grid = self.driver.find_elements("css selector", "[data-testid=stDataFrame]")[grid_index]
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", grid)
        cell_id = self.driver.execute_script(
            "const c = Array.from(arguments[0].querySelectorAll('table td')).find(c => c.textContent === arguments[1]);"
            "if (c) c.focus(); return c ? c.id : null;", grid, old)
        assert cell_id, f"no cell showing {old!r} in the editor"
        time.sleep(0.3)
        # Focusing an accessible cell selects a cell of that row; move to the wanted column with arrows.
        active = self.driver.switch_to.active_element.get_attribute("id") or ""
        want_col, have_col = int(cell_id.split("-")[2]), int((active.split("-")[2:3] or [want_col])[0])
        keys = [Keys.RIGHT] * max(0, want_col - have_col) + [Keys.LEFT] * max(0, have_col - want_col)
        for key in keys + [Keys.ENTER]:
            ActionChains(self.driver).send_keys(key).perform()
            time.sleep(0.15)
        editor = self.driver.switch_to.active_element
        assert editor.get_attribute("value") == old, f"editing {editor.get_attribute('value')!r}, not {old!r}"
        editor.send_keys(Keys.CONTROL, "a")
        editor.send_keys(new)
        editor.send_keys(Keys.ENTER)
        time.sleep(0.3)
        self.wait_idle()

    def toast(self, text: str, timeout: float = 30):
        return self.wait_for("[data-testid=stToast]", text, timeout=timeout, idle=False)

    def nav(self, title: str) -> None:
        """Switch page through the sidebar navigation link titled `title`."""
        links = self.driver.find_elements("css selector", "[data-testid=stSidebarNav] a")
        for link in links:
            # The link text starts with the icon's ligature name ("library_books\nCorpus").
            if link.text.strip().splitlines()[-1:] == [title]:
                link.click()
                time.sleep(0.3)
                self.wait_idle()
                return
        raise AssertionError(f"no sidebar link {title!r}; links: {[l.text for l in links]}")

    def expand(self, label: str) -> None:
        """Open the collapsed expander whose summary contains `label` (no-op when already open)."""
        summary = self.wait_for("[data-testid=stExpander] summary", label, timeout=30)
        details = summary.find_element("xpath", "..")
        if details.get_attribute("open") is None:
            summary.click()
            time.sleep(0.3)

    def table_text(self, index: int = 0) -> str:
        """All cell texts of the `index`-th st.dataframe, scrolling its grid so every row renders once.

        The grid draws on a canvas but keeps an accessible <table> of the rows in view."""
        grid = self.driver.find_elements("css selector", "[data-testid=stDataFrame]")[index]
        scroller = grid.find_element("css selector", ".dvn-scroller")
        texts: list[str] = []
        top, height = 0, 1
        while top <= height:
            height = self.driver.execute_script(
                "arguments[0].scrollTop = arguments[1]; return arguments[0].scrollHeight;", scroller, top)
            time.sleep(0.15)
            for cell in self.driver.execute_script(
                    "return Array.from(arguments[0].querySelectorAll('table td, table th'))"
                    ".map(c => c.textContent);", grid):
                if cell not in texts:
                    texts.append(cell)
            top += 150
        self.driver.execute_script("arguments[0].scrollTop = 0;", scroller)
        return "\n".join(texts)

    # -- evidence --
    def shot(self, name: str) -> Path:
        self.shot_count += 1
        self.shots_dir.mkdir(parents=True, exist_ok=True)
        path = self.shots_dir / f"{self.shot_count:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        self.driver.save_screenshot(str(path))
        return path

    def console_errors(self) -> list[str]:
        """SEVERE browser console entries since the last call, minus documented benign noise."""
        entries = self.driver.get_log("browser")
        return [e["message"] for e in entries
                if e.get("level") == "SEVERE" and not any(p.search(e["message"]) for p in BENIGN_CONSOLE)]

    def assert_clean(self) -> None:
        """Fail on a Streamlit exception box or a SEVERE console error."""
        boxes = [b.text for b in self.driver.find_elements("css selector", "[data-testid=stException]")]
        errors = self.console_errors()
        if boxes or errors:
            self.shot("failure")
        assert not boxes, "Streamlit exception shown:\n" + "\n---\n".join(boxes)
        assert not errors, "browser console errors:\n" + "\n".join(errors)

    def downloaded(self, suffix: str, timeout: float = 30) -> Path:
        """The newest completed download ending in `suffix`: a file still empty, or with a .crdownload beside it, is
        not done yet (a CI run in session 13 read a .bib export while it was still empty)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = {p.name.removesuffix(".crdownload") for p in self.download_dir.glob("*.crdownload")}
            done = [p for p in self.download_dir.glob(f"*{suffix}")
                    if p.name not in pending and p.stat().st_size > 0]
            if done:
                return max(done, key=lambda p: p.stat().st_mtime)
            time.sleep(0.2)
        raise AssertionError(f"no *{suffix} file downloaded into {self.download_dir} within {timeout} s: "
                             f"{sorted(p.name for p in self.download_dir.iterdir())}")


# ---- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def e2e_workdir(tmp_path_factory) -> Path:
    reason = browser_missing_reason()
    if reason:
        pytest.skip(reason)
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="module")
def local_app(e2e_workdir):
    """The real app in local mode on a fresh data directory, shared by the module's ordered tests."""
    app = start_app(e2e_workdir / "local")
    yield app
    app.stop()


@pytest.fixture(scope="module")
def team_app(e2e_workdir):
    """The real app in team mode; accounts are created with the CLI before it starts."""
    workdir = e2e_workdir / "team"
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True)
    env = app_env(data_dir, PEERDRAFT_MODE="team")
    for name, role in TEAM_USERS.items():
        add_user(env, name, role, TEAM_PASSWORD)
    app = start_app(workdir, PEERDRAFT_MODE="team")
    yield app
    app.stop()


TEAM_PASSWORD = "correct horse battery staple"
TEAM_USERS = {"ada": "writer", "bob": "writer", "rita": "reviewer"}


def _browser(app: RunningApp, workdir: Path):
    downloads = workdir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    driver = make_driver(downloads)
    browser = Browser(driver, app.url, downloads)
    return browser


@pytest.fixture(scope="module")
def browser(local_app, e2e_workdir):
    """One headless Chromium for the local-mode flow."""
    b = _browser(local_app, e2e_workdir / "local-browser")
    yield b
    b.driver.quit()


@pytest.fixture(scope="module")
def team_browser(team_app, e2e_workdir):
    """One headless Chromium for the team-mode flow."""
    b = _browser(team_app, e2e_workdir / "team-browser")
    b.team_password = TEAM_PASSWORD  # handed over here: `from conftest import` may find another test folder's conftest
    yield b
    b.driver.quit()


@pytest.fixture
def shot(request):
    """`shot(name)` saves tests/artifacts/e2e/<test>/<n>-<name>.png from whichever browser the test uses."""
    names = [n for n in ("browser", "team_browser") if n in request.fixturenames]
    target = request.getfixturevalue(names[0]) if names else None
    if target is None:
        pytest.fail("the shot fixture needs the browser or team_browser fixture")
    directory = ARTIFACTS / request.node.name
    shutil.rmtree(directory, ignore_errors=True)
    target.shots_dir, target.shot_count = directory, 0
    return target.shot


# ---- ordered flows: a failed step skips the later steps of the same flow ---------------------------
def pytest_configure(config):
    config.addinivalue_line("markers", "flow(name, later_steps_need_it=False): an ordered browser flow; a failed "
                            "step skips the rest, an xfailed one only with later_steps_need_it=True")


_FAILED_STEP: dict[str, str] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    marker = item.get_closest_marker("flow")
    # A known-blocked step (xfail) stops the flow only when it says later steps need it.
    xfailed = report.skipped and hasattr(report, "wasxfail")
    blocked = report.failed or (xfailed and marker is not None and marker.kwargs.get("later_steps_need_it"))
    if marker and blocked and report.when in ("setup", "call"):
        _FAILED_STEP.setdefault(marker.args[0], item.name)


@pytest.fixture(autouse=True)
def _skip_after_failed_step(request):
    marker = request.node.get_closest_marker("flow")
    if marker and marker.args[0] in _FAILED_STEP:
        pytest.skip(f"an earlier step of the {marker.args[0]} flow failed or is a known xfail: "
                    f"{_FAILED_STEP[marker.args[0]]}")
