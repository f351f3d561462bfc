"""Style findings: planted problems are found at the right offsets in the original draft."""

from __future__ import annotations

import textwrap

import pytest

from engine.check.style import counts_by_kind, style_findings

LONG = ("The retriever, which was introduced in an earlier section of this article and which we tuned "
        "on held-out questions from three different domains, returns passages that the reader model then "
        "ranks, filters and finally cites in its answer to the user.")
DRAFT = textwrap.dedent(f"""\
    # Retrieval in practice

    The index is built by the ingest stage from `pdf` files [2]. In order to keep answers grounded,
    we cite every passage. It is important to note that recall matters more than precision here.

    {LONG}

    ## Further reading

    For example, see the DPR paper. Questions or comments are welcome: open an issue.
    """)


@pytest.fixture(scope="module")
def findings():
    return style_findings(DRAFT)


def _at(findings, kind):
    return [DRAFT[f.offset:f.offset + f.length] for f in findings if f.kind == kind]


def test_planted_passive_voice_is_found_at_its_offset_with_the_agent(findings):
    spans = _at(findings, "passive_voice")
    assert "is built by" in spans
    message = next(f.message for f in findings if f.kind == "passive_voice")
    assert "put it first" in message


def test_planted_filler_phrases_are_found_with_replacements(findings):
    spans = _at(findings, "filler")
    assert "In order to" in spans and "It is important to note that" in spans
    fix = next(f.message for f in findings if DRAFT[f.offset:f.offset + f.length] == "In order to")
    assert "Use: to." in fix


def test_a_very_long_sentence_is_found_spanning_exactly_that_sentence(findings):
    assert _at(findings, "long_sentence") == [LONG]


def test_a_complete_peer_article_has_no_missing_part_findings(findings):
    assert not [f for f in findings if f.kind.startswith("missing_")]


def test_missing_peer_parts_are_document_level_findings_at_offset_zero():
    found = style_findings("# Title\n\nThe model works well on the benchmark.\n")
    missing = {f.kind: f for f in found if f.kind.startswith("missing_")}
    assert set(missing) == {"missing_example", "missing_further_reading", "missing_invitation"}
    assert all(f.offset == 0 and f.length == 0 for f in missing.values())


def test_doubled_and_nearby_repeated_words_are_flagged():
    draft = "# T\n\nWe train the the model. The encoder reads the encoder output again.\n"
    spans = [draft[f.offset:f.offset + f.length] for f in style_findings(draft) if f.kind == "repetition"]
    assert "the the" in spans
    assert "encoder reads the encoder" in spans


def test_skipped_heading_level_is_flagged_on_the_heading_line():
    draft = "# Title\n\nIntro text here.\n\n### Deep dive\n\nMore text.\n"
    found = [f for f in style_findings(draft) if f.kind == "heading_skip"]
    assert len(found) == 1 and draft[found[0].offset:found[0].offset + found[0].length] == "### Deep dive"


def test_long_text_without_any_heading_is_flagged():
    draft = "Plain words in a row make a long text. " * 60
    kinds = counts_by_kind(style_findings(draft))
    assert kinds.get("missing_heading") == 1


def test_a_paragraph_far_longer_than_the_rest_is_flagged():
    short = "A short paragraph with a few words in it.\n\n"
    long = "This paragraph keeps going with more and more words about retrieval. " * 20
    draft = "# T\n\n" + short * 5 + long + "\n"
    found = [f for f in style_findings(draft) if f.kind == "long_paragraph"]
    assert len(found) == 1 and draft[found[0].offset:].startswith("This paragraph")


def test_markdown_code_is_not_scanned_for_style():
    draft = "# T\n\n```\nx is computed by f in order to test\n```\n\nFine prose here.\n"
    kinds = counts_by_kind(style_findings(draft))
    assert "passive_voice" not in kinds and "filler" not in kinds


@pytest.mark.parametrize("draft", ["", "   ", "# Nur eine Überschrift\n\nDie Modelle werden trainiert. " * 3,
                                   "x" * 10_000, "\u2028\u2029\x0b\x0c"])
def test_odd_drafts_give_findings_without_crashing(draft):
    for f in style_findings(draft):
        assert 0 <= f.offset <= len(draft) and f.offset + f.length <= len(draft)


def test_a_one_megabyte_draft_is_checked():
    paragraph = "The index is built by the ingest stage in order to keep answers grounded. " * 20
    draft = "\n\n".join(f"## Part {n}\n\n{paragraph}" for n in range(700))
    kinds = counts_by_kind(style_findings(draft))
    assert kinds["passive_voice"] == 700 * 20 and kinds["filler"] == 700 * 20
