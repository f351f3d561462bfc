"""CLI verbs export, user, backup/restore, through the real entry point."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.diagrams import chromium_path
from engine.store import Store

ROOT = Path(__file__).resolve().parents[1]

DRAFT = """# LoRA in brief

Low-rank adapters train two small matrices per layer [1], and QLoRA adds 4-bit weights [2].
A <script>alert(1)</script> and <a href="javascript:alert(2)" onclick="x()">link</a>.

## References

[1] Hu, E., Shen, Y. (2021). LoRA: Low-Rank Adaptation of Large Language Models. ICLR. arXiv:2106.09685
[2] Dettmers, T., Pagnoni, A. (2023). QLoRA: Efficient Finetuning of Quantized LLMs. NeurIPS. arXiv:2305.14314
"""


@pytest.fixture
def draft(tmp_path):
    path = tmp_path / "draft.md"
    path.write_text(DRAFT, encoding="utf-8")
    return path


def test_export_html_from_a_plain_markdown_file(draft, data_dir, tmp_path):
    out = tmp_path / "out" / "draft.html"
    assert main(["export", str(draft), "--format", "html", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert 'href="#ref-1"' in page and 'id="ref-2"' in page
    assert "<script" not in page.lower() and "javascript:" not in page and "onclick" not in page


def test_export_markdown_and_bibtex_to_stdout(draft, data_dir, capsys):
    assert main(["export", str(draft), "--format", "md"]) == 0
    assert capsys.readouterr().out.count("## References") == 1
    assert main(["export", str(draft), "--format", "bibtex"]) == 0
    bib = capsys.readouterr().out
    assert "@inproceedings{hu2021lora," in bib and "eprint = {2305.14314}" in bib


def test_bibtex_takes_metadata_from_the_index_when_a_reference_matches(draft, data_dir, capsys):
    generation = data_dir / "index" / "gen-000001"
    generation.mkdir(parents=True)
    (data_dir / "index" / "CURRENT").write_text("gen-000001")
    document = {"doc_id": "lora", "title": "LoRA: Low-Rank Adaptation of Large Language Models",
                "authors": ["Edward J. Hu", "Yelong Shen", "Phillip Wallis"], "year": 2021,
                "venue": "International Conference on Learning Representations", "arxiv_id": "2106.09685"}
    (generation / "store.json").write_text(json.dumps({"documents": [{"document": document}], "chunks": []}))
    assert main(["export", str(draft), "--format", "bibtex"]) == 0
    assert "Edward J. Hu and Yelong Shen and Phillip Wallis" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("pandoc") is None or chromium_path() is None, reason="pandoc and Chromium make them")
def test_export_docx_and_pdf_need_an_out_path_and_carry_the_references(draft, data_dir, tmp_path, capsys):
    import docx
    from pypdf import PdfReader

    assert main(["export", str(draft), "--format", "pdf"]) == 1
    assert "Add --out article.pdf" in capsys.readouterr().err
    for fmt in ("docx", "pdf"):
        assert main(["export", str(draft), "--format", fmt, "--out", str(tmp_path / f"a.{fmt}")]) == 0
    words = "\n".join(p.text for p in docx.Document(str(tmp_path / "a.docx")).paragraphs)
    assert "LoRA: Low-Rank Adaptation of Large Language Models" in words and "[2]" in words
    pdf_text = " ".join(" ".join(page.extract_text() for page in PdfReader(str(tmp_path / "a.pdf")).pages).split())
    assert "QLoRA: Efficient Finetuning of Quantized LLMs" in pdf_text


def test_export_of_a_missing_file_is_one_clear_error(data_dir, tmp_path, capsys):
    assert main(["export", str(tmp_path / "nope.md")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_user_add_list_and_passwd(data_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("writer-password\n"))
    assert main(["user", "add", "alice", "--role", "writer", "--password-stdin"]) == 0
    assert main(["user", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "alice", "role": "writer", "disabled": False}]
    monkeypatch.setattr(sys, "stdin", io.StringIO("another-password\n"))
    assert main(["user", "passwd", "alice", "--password-stdin"]) == 0
    from engine.auth import authenticate
    assert authenticate(Store(data_dir / "peerdraft.db"), "alice", "another-password").name == "alice"
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    assert main(["user", "add", "bob", "--role", "writer", "--password-stdin"]) == 1


def test_an_operators_first_user_add_in_team_mode_creates_the_environments_admin_first(data_dir, monkeypatch,
                                                                                          capsys):
    monkeypatch.setenv("PEERDRAFT_MODE", "team")
    monkeypatch.setenv("PEERDRAFT_ADMIN_USER", "root-admin")
    monkeypatch.setenv("PEERDRAFT_ADMIN_PASSWORD", "a-long-admin-password")
    monkeypatch.setattr(sys, "stdin", io.StringIO("writer-password\n"))
    assert main(["user", "add", "alice", "--role", "writer", "--password-stdin"]) == 0
    assert main(["user", "list", "--json"]) == 0
    users = {u["name"]: u["role"] for u in json.loads(capsys.readouterr().out)}
    assert users == {"root-admin": "admin", "alice": "writer"}


def test_export_article_from_the_workspace_enforces_access(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PEERDRAFT_MODE", "team")
    store = Store(data_dir / "peerdraft.db")
    alice, _ = store.insert_user("alice", "writer"), store.insert_user("bob", "writer")
    store.insert_user("rita", "reviewer")
    article = store.create_article(alice, "Alice's LoRA notes")
    store.save_version(alice, article.id, DRAFT)
    assert main(["export", "--article", str(article.id), "--user", "alice", "--format", "md"]) == 0
    assert "Low-rank adapters" in capsys.readouterr().out
    for user in ("bob", "rita"):
        for fmt in ("md", "html", "bibtex"):
            assert main(["export", "--article", str(article.id), "--user", user, "--format", fmt]) == 1
            captured = capsys.readouterr()
            assert "Low-rank" not in captured.out and "not shared with you" in captured.err
    assert main(["export", "--article", str(article.id), "--format", "md"]) == 1  # team mode: whose?
    store.share_article(alice, article.id, "rita")
    assert main(["export", "--article", str(article.id), "--user", "rita", "--format", "html"]) == 0


def test_backup_and_restore_verbs(data_dir, tmp_path, capsys):
    store = Store(data_dir / "peerdraft.db")
    alice = store.insert_user("alice", "writer")
    article = store.create_article(alice, "Keep me")
    store.save_version(alice, article.id, "v1 text")
    assert main(["backup", str(tmp_path / "bk")]) == 0
    store.save_version(alice, article.id, "v2 text")
    store.close()
    assert main(["restore", str(tmp_path / "bk")]) == 0
    assert Store(data_dir / "peerdraft.db").latest_version(alice, article.id).markdown == "v1 text"
    assert main(["backup", str(tmp_path / "bk")]) == 1  # not empty
    assert "not empty" in capsys.readouterr().err


def test_console_script_exports_html(draft, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PEERDRAFT_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "engine.cli", "export", str(draft), "--format", "html"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>") and "<script" not in result.stdout.lower()
