"""The Docker team instance, for real: the built image started as compose.yaml does, checked on 127.0.0.1.

Skipped (with the command that sets it up) unless a Docker engine runs and the image is built:
`scripts/test.sh --container` installs docker.io, starts dockerd with `--bridge=none --iptables=false`,
builds the image from a debootstrap base and the wheelhouse, then runs this file. The steps run in order
on one instance (project A); a failed step skips the later ones, since each builds on the one before
(tests/container/conftest.py).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from team_container import PASSWORD, REPO, TeamInstance, docker_missing_reason, http_get

WRITER, WRITER_PASSWORD = "ada", "writer password for ada"
TOPIC = "Retrieval-augmented generation for question answering"
ARTIFACTS = REPO / "tests" / "artifacts" / "container"
DRAFT_TIMEOUT_S = 1500  # the default 1.5B model on 2 shared cores: planning plus one section


def _browser_kit():
    """tests/e2e/conftest.py's Browser and Chromium driver, loaded under their own module name.

    (`from conftest import` would find whichever conftest was imported first; see b4da831.)"""
    spec = importlib.util.spec_from_file_location("e2e_browser_kit", REPO / "tests" / "e2e" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    reason = docker_missing_reason()
    if reason:
        pytest.skip(reason)
    return tmp_path_factory.mktemp("container")


@pytest.fixture(scope="module")
def instance(workdir):
    """Project A, from fresh volumes; removed with its volumes at the end."""
    team = TeamInstance(f"pdtest{int(time.time())}", workdir / "a")
    team.down(volumes=True)
    team.started_s = team.up()
    yield team
    (ARTIFACTS).mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "instance-a.log").write_text(team.logs(400))
    team.down(volumes=True)


def article_count(team: TeamInstance) -> int:
    """Articles in the instance's database (0 before the first page load has created it)."""
    done = team.shell("/app/.venv/bin/python -c \"import os, sqlite3; db = '/data/peerdraft.db'; print(sqlite3.connect("
                      "'file:' + db + '?mode=ro', uri=True).execute('select count(*) from articles').fetchone()[0] "
                      "if os.path.exists(db) else 0)\"")
    return int(done.stdout.strip())


# One process inside the container answers many BM25 queries (a `peerdraft search` per query would load
# the engine each time): {query: sorted doc ids of its top 20 passages that contain the query word}.
SEARCH_SCRIPT = """
import json, sys
from engine.index import open_index
from engine.retrieve import retrieve_passages
from engine.settings import load_settings
index = open_index(load_settings())
print(json.dumps({q: sorted({p.doc_id for p in retrieve_passages(index, q, k=20, mode="bm25")
                              if q.lower() in p.text.lower()}) for q in json.loads(sys.argv[1])}))
"""


def search_doc_ids(team: TeamInstance, *queries: str) -> dict[str, set[str]]:
    done = team.compose("exec", "-T", "peerdraft", "/app/.venv/bin/python", "-c", SEARCH_SCRIPT, json.dumps(queries),
                        timeout=300)
    return {query: set(ids) for query, ids in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def test_health_answers_and_the_healthcheck_turns_healthy(instance):
    status, body = http_get(f"{instance.url}/_stcore/health")
    assert (status, body.strip()) == (200, "ok")
    assert instance.inspect()["State"]["Health"]["Status"] == "healthy"
    print(f"start to healthy: {instance.started_s:.1f} s")


def test_runs_as_a_non_root_user_on_a_read_only_root_filesystem(instance):
    assert instance.shell("id -u").stdout.strip() != "0"
    assert instance.inspect()["HostConfig"]["ReadonlyRootfs"] is True
    denied = instance.shell("touch /app/written-by-the-app", check=False)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr, denied.stderr
    assert instance.shell("touch /data/.writable && rm /data/.writable").returncode == 0


@pytest.fixture(scope="module")
def browser(instance, workdir):
    """One headless Chromium (Debian's, on the host) talking to the container on 127.0.0.1."""
    kit = _browser_kit()
    reason = kit.browser_missing_reason()
    if reason:
        pytest.skip(reason)
    downloads = workdir / "downloads"
    downloads.mkdir(exist_ok=True)
    b = kit.Browser(kit.make_driver(downloads), instance.url, downloads)
    b.shots_dir = ARTIFACTS / "browser"
    yield b
    b.driver.quit()


def sign_in(browser, name: str, password: str) -> None:
    browser.open("")
    browser.wait_for("[data-testid=stForm]", "User name", timeout=120)
    browser.fill("stTextInput", "User name", name, commit=False)
    browser.fill("stTextInput", "Password", password, commit=False)
    browser.click("Sign in")
    browser.wait_for("[data-testid=stSidebar]", f"Signed in as {name}", timeout=120)


def test_the_first_admin_is_created_from_the_environment_and_signs_in(instance, browser):
    try:
        sign_in(browser, "admin", PASSWORD)  # the first page load creates the admin from the environment
    except Exception:
        browser.shot("admin-sign-in-failed")
        raise
    listed = instance.peerdraft("user", "list").stdout
    assert listed.splitlines() == ["admin\tadmin"], listed
    browser.click("Sign out")
    browser.wait_for("[data-testid=stForm]", "User name", timeout=60)


def test_a_writer_added_with_compose_exec_signs_in_in_chromium_and_drafts_with_the_default_model(instance, browser):
    instance.peerdraft("user", "add", WRITER, "--role", "writer", "--password-stdin", input=WRITER_PASSWORD + "\n")
    try:
        sign_in(browser, WRITER, WRITER_PASSWORD)
        browser.nav("Write")
        browser.wait_text("Brief", timeout=600)  # the first visit indexes the bundled corpus
        browser.fill("stTextInput", "Topic", TOPIC, commit=False)
        browser.fill("stNumberInput", "Target length", "150", commit=False)
        browser.click("Plan outline")
        browser.wait_text("Evidence and draft", timeout=DRAFT_TIMEOUT_S)
        began = time.monotonic()
        browser.click("Draft section", wait=False)
        browser.wait_text("Verified text", timeout=DRAFT_TIMEOUT_S)
        drafted_s = time.monotonic() - began
        markdown = browser.widget("stTextArea", "Markdown (editable)").find_element(
            "css selector", "textarea").get_attribute("value")
        body = markdown.split("## References")[0]
        assert len(re.findall(r"[A-Za-z]{3,}", body)) >= 40, f"the drafted section is nearly empty:\n{markdown[:800]}"
        browser.click("Save")
        browser.toast("Saved version")
        browser.shot("drafted")
        print(f"first section drafted in the browser in {drafted_s:.0f} s")
    except Exception:
        browser.shot("failed")
        raise
    environment = instance.inspect()["Config"]["Env"]
    assert not [v for v in environment if v.startswith(("PEERDRAFT_LLM_PROFILE=", "PEERDRAFT_LLM_MODEL="))], \
        "the container must draft with the default model"


def test_the_metrics_port_serves_request_and_generation_counters(instance):
    status, text = http_get(f"http://127.0.0.1:{instance.metrics_port}/metrics")
    assert status == 200, text
    assert "# TYPE peerdraft_requests_total counter" in text, text[:1500]
    generated = [float(v) for v in re.findall(r"^peerdraft_generated_tokens_total\{[^}]*\} ([\d.e+]+)$", text, re.M)]
    assert generated and sum(generated) > 0, "no generated tokens counted after a draft:\n" + text[:3000]
    requests = [float(v) for v in re.findall(r'^peerdraft_requests_total\{kind="generate"\} ([\d.e+]+)$', text, re.M)]
    assert requests and requests[0] >= 1, text[:3000]


def test_the_data_volume_survives_compose_down_and_up(instance):
    articles, corpus_docs = article_count(instance), search_doc_ids(instance, "retrieval", "generation")
    assert articles >= 1 and all(corpus_docs.values()), (articles, corpus_docs)
    instance.down()  # without -v: the named volume stays
    instance.up()
    assert article_count(instance) == articles
    assert search_doc_ids(instance, "retrieval", "generation") == corpus_docs


def _write_papers(folder: Path, count: int) -> list[str]:
    """`count` Markdown notes, each with a word found in no other document, and those words."""
    words = []
    for n in range(count):
        word = f"zorblatt{n:03d}"
        paragraphs = [f"# Note {n} on {word}", f"This note defines {word}, a made-up term for the restart test."]
        paragraphs += [f"Paragraph {p} of note {n} discusses retrieval depth {p * n} and its {word} effects on "
                       f"recall, latency and index size in some detail." for p in range(40)]
        (folder / f"note{n:03d}.md").write_text("\n\n".join(paragraphs))
        words.append(word)
    return words


def test_a_restart_in_the_middle_of_indexing_loses_nothing(instance, workdir):
    before_articles, before_docs = article_count(instance), search_doc_ids(instance, "retrieval")["retrieval"]
    papers = workdir / "papers"
    papers.mkdir()
    words = _write_papers(papers, 60)
    subprocess.run(["docker", "cp", str(papers), f"{instance.container_id()}:/data/incoming"], check=True)
    indexing = subprocess.Popen(instance.compose_args("exec", "-T", "peerdraft", "/app/.venv/bin/peerdraft", "index",
                                                      "/data/incoming"),
                                env=instance.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(15)  # past the embedder's load, inside the embedding of the 60 notes
    still_running = indexing.poll() is None
    instance.compose("restart", "--timeout", "20", "peerdraft", timeout=180)
    indexing.wait(timeout=60)
    instance.wait_healthy()
    assert article_count(instance) == before_articles
    assert before_docs <= search_doc_ids(instance, "retrieval")["retrieval"], \
        "documents indexed before the restart went missing"
    # Indexing again finishes what the restart cut short: every note is then found by its own word.
    instance.peerdraft("index", "/data/incoming", timeout=900)
    found = search_doc_ids(instance, *words)
    missing = [w for w in words if len(found[w]) != 1]
    assert not missing, f"notes not found after re-indexing: {missing[:5]}"
    print(f"restart hit the indexing while it ran: {still_running}")


def test_a_backup_made_inside_the_container_restores_into_a_fresh_container(instance, workdir):
    instance.peerdraft("user", "add", "rita", "--role", "reviewer", "--password-stdin", input="reviewer password\n")
    users = instance.peerdraft("user", "list").stdout
    articles, docs = article_count(instance), search_doc_ids(instance, "zorblatt007", "retrieval")
    instance.peerdraft("backup", "/data/backups/nightly")
    copy = workdir / "backup-copy"
    subprocess.run(["docker", "cp", f"{instance.container_id()}:/data/backups/nightly", str(copy)], check=True)
    fresh = TeamInstance(instance.project + "b", workdir / "b")
    try:
        fresh.up()
        assert article_count(fresh) == 0
        fresh.compose("stop", "--timeout", "20", "peerdraft")
        subprocess.run(["docker", "cp", str(copy), f"{fresh.container_id()}:/data/restore-from"], check=True)
        fresh.compose("run", "--rm", "--no-deps", "-T", "peerdraft", "restore", "/data/restore-from", timeout=300)
        fresh.compose("start", "peerdraft")
        fresh.wait_healthy()
        assert article_count(fresh) == articles
        assert fresh.peerdraft("user", "list").stdout == users
        assert search_doc_ids(fresh, "zorblatt007", "retrieval") == docs
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "instance-b.log").write_text(fresh.logs(200))
        fresh.down(volumes=True)
