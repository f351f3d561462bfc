"""`peerdraft check` through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from engine.cli import main

# vLLM itself is peers' vocabulary now (issue 18's reader model); PagedAttention, its paging scheme, is not.
DRAFT = "# Serving\n\nWe serve with PagedAttention and NF4 weights. See `PagedAttention --help`.\n"


@pytest.fixture
def draft(tmp_path, monkeypatch, settings):
    monkeypatch.setenv("PEERDRAFT_DATA_DIR", str(settings.data_dir))  # no index there: no suggestions
    path = tmp_path / "draft.md"
    path.write_text(DRAFT, encoding="utf-8")
    return path


def test_check_json_has_jargon_terms_and_undefined_with_the_issue_keys(draft, capsys):
    assert main(["check", str(draft), "--json", "--no-evaluation"]) == 0
    out = json.loads(capsys.readouterr().out)
    jargon = out["jargon"]
    assert set(jargon) == {"terms", "undefined"}
    term = jargon["terms"][0]
    # The issue's keys, plus "why" (issue 18): the reader model's reason for the flag.
    assert set(term) == {"term", "first_use", "defined", "status", "definition_offset", "suggestion", "why"}
    assert term.pop("why").endswith("not defined at its first use on line 3")
    assert term == {"term": "PagedAttention", "first_use": {"offset": DRAFT.index("PagedAttention"), "line": 3},
                    "defined": False,
                    "status": "undefined", "definition_offset": None, "suggestion": None}
    assert jargon["undefined"] == ["PagedAttention", "NF4"]


def test_audience_option_picks_the_reader_model(tmp_path, capsys):
    path = tmp_path / "post.md"
    path.write_text("We add a softmax over the logits and backpropagation does the rest.\n", encoding="utf-8")
    assert main(["check", str(path), "--json", "--no-evaluation"]) == 0
    assert json.loads(capsys.readouterr().out)["jargon"]["undefined"] == []
    assert main(["check", str(path), "--json", "--no-evaluation", "--audience", "software engineers new to ML"]) == 0
    assert {"softmax", "backpropagation"} <= set(json.loads(capsys.readouterr().out)["jargon"]["undefined"])


def test_assumed_terms_from_the_command_line_are_not_flagged(draft, capsys):
    assert main(["check", str(draft), "--json", "--no-evaluation", "--assume", "nf4", "--assume", "pagedattention"]) == 0
    jargon = json.loads(capsys.readouterr().out)["jargon"]
    assert jargon["undefined"] == [] and {t["status"] for t in jargon["terms"]} == {"assumed"}


def test_human_output_lists_terms_and_says_why_there_are_no_suggestions(draft, capsys):
    assert main(["check", str(draft)]) == 0
    captured = capsys.readouterr()
    assert "Jargon: 2 technical term(s), 2 to define at first use." in captured.out
    assert "undefined    PagedAttention  (line 3)" in captured.out
    assert "no corpus index yet" in captured.err


def test_missing_draft_is_an_error_that_names_the_fix(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.md")]) == 1
    assert "No draft at" in capsys.readouterr().err
