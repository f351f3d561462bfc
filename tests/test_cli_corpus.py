"""`peerdraft index` and `peerdraft search` through the real CLI entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.cli import main

pytestmark = pytest.mark.model

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERDRAFT_CONFIG", str(tmp_path / "none.toml"))
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "kv.md").write_text("---\ntitle: KV Caching\nauthors: [B. Coder]\nyear: 2022\n---\n## Idea\n\n"
                                  "Decoders cache the key and value tensors of past tokens so each new token "
                                  "attends to them without recomputing the prefix.\n")
    shutil.copy(FIXTURES / "paper.pdf", papers / "paper.pdf")
    shutil.copy(FIXTURES / "encrypted.pdf", papers / "locked.pdf")
    (papers / "empty.txt").write_bytes(b"")
    return tmp_path, papers


def test_index_prints_one_line_per_file_and_a_summary_and_exits_0_despite_bad_files(cli_env, capsys):
    _, papers = cli_env
    assert main(["index", str(papers)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1].rstrip(":"): line for line in out.splitlines() if line.split()[0] in ("ok", "error")}
    assert lines["kv.md"].startswith("ok") and lines["paper.pdf"].startswith("ok")
    assert lines["locked.pdf"].startswith("error") and "encrypted" in lines["locked.pdf"]
    assert lines["empty.txt"].startswith("error") and "empty" in lines["empty.txt"]
    assert "2 ingested" in out and "2 failed" in out

    assert main(["index", str(papers / "kv.md")]) == 0
    assert "skipped  kv.md: duplicate" in capsys.readouterr().out


def test_search_json_lists_hits_with_citation_fields(cli_env, capsys):
    _, papers = cli_env
    main(["index", str(papers)])
    capsys.readouterr()
    assert main(["search", "reuse keys and values of earlier tokens", "--k", "2", "--mode", "hybrid", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert 1 <= len(hits) <= 2
    assert set(hits[0]) == {"title", "authors", "year", "page", "section", "score", "text", "doc_id", "chunk_id"}
    assert hits[0]["title"] == "KV Caching" and hits[0]["authors"] == ["B. Coder"] and hits[0]["year"] == 2022


@pytest.mark.parametrize("mode", ["dense", "bm25"])
def test_search_text_output_names_source_and_page(cli_env, capsys, mode):
    _, papers = cli_env
    main(["index", str(papers)])
    capsys.readouterr()
    assert main(["search", "annealed temperature gating experts", "--k", "1", "--mode", mode]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1. [") and "Sparse Gating for Tiny Experts" in out and "p. " in out


def test_index_rebuild_keeps_documents_and_reembeds(cli_env, capsys):
    tmp_path, papers = cli_env
    main(["index", str(papers / "kv.md")])
    capsys.readouterr()
    assert main(["index", "--rebuild", str(papers / "paper.pdf")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("rebuilt  1 documents") and "index holds 2 documents" in out


def test_search_with_unknown_mode_is_an_argument_error(cli_env):
    with pytest.raises(SystemExit) as caught:
        main(["search", "x", "--mode", "fuzzy"])
    assert caught.value.code == 2
