"""Readability scores: textstat's numbers on the prose only, per section and per sentence."""

from __future__ import annotations

import textwrap
from dataclasses import fields

import pytest

from engine.markup import prose_map
from engine.check.readability import (AUDIENCE_BANDS, SentenceLevels, readability, sentence_grade,
                                      target_band, textstat_scores)
from engine.errors import ConfigError

DRAFT = textwrap.dedent("""\
    # Why retrieval helps

    Language models forget rare facts. Retrieval gives them a memory they can read at inference time,
    and the reader can check every claim against its source [1]. The retriever scores each passage
    with BM25 or a dense encoder, e.g. `faiss.IndexFlatIP`, and returns the top ten.

    ## How we measured it

    We evaluated the state-of-the-art pipeline on questions that don't appear in the training data.
    Substantially heterogeneous institutional documentation necessitates considerably sophisticated
    disambiguation methodologies incorporating probabilistic contextualization.

    | model | recall |
    |-------|--------|
    | bm25  | 0.71   |

    ```python
    scores = index.search(queries, k=10)
    ```

    The answer is $p(y|x) = \\sum_z p(z|x) p(y|x,z)$, see https://example.org/rag. It is short.
    """)


@pytest.fixture(scope="module")
def result():
    return readability(DRAFT)


def _assert_same(ours, theirs):
    for f in fields(ours):
        assert getattr(ours, f.name) == pytest.approx(getattr(theirs, f.name), abs=1e-6), f.name


def test_overall_scores_agree_with_textstat_on_the_stripped_text(result):
    _assert_same(result.overall, textstat_scores(prose_map(DRAFT).text))


def test_section_scores_agree_with_textstat_on_each_section(result):
    mapped = prose_map(DRAFT)
    assert [s.title for s in result.sections] == ["Why retrieval helps", "How we measured it"]
    for ours, span in zip(result.sections, mapped.sections):
        _assert_same(ours.scores, textstat_scores(mapped.text[span.text_start:span.text_end]))


@pytest.mark.parametrize("sentence", [
    "Retrieval gives them a memory they can read at inference time.",
    "We evaluated the state-of-the-art pipeline on questions that don't appear in the training data.",
    "Substantially heterogeneous institutional documentation necessitates considerably sophisticated "
    "disambiguation methodologies incorporating probabilistic contextualization.",
])
def test_sentence_grade_matches_textstat_on_a_single_sentence(sentence):
    row = readability(sentence).sentences[0]
    assert row.grade == pytest.approx(textstat_scores(sentence).flesch_kincaid_grade, abs=0.01)


def test_code_urls_citations_tables_and_math_do_not_change_the_scores(result):
    plain = readability(DRAFT.replace("[1]", "").replace("`faiss.IndexFlatIP`", ""))
    assert plain.overall == result.overall
    assert result.excluded.keys() >= {"citation", "code", "table", "math", "url"}


def test_sentences_point_at_their_text_in_the_draft(result):
    for row in result.sentences:
        assert DRAFT[row.offset:row.offset + row.length].strip() == DRAFT[row.offset:row.offset + row.length]
    first = result.sentences[0]
    assert DRAFT[first.offset:first.offset + first.length] == "Language models forget rare facts."


def test_a_dense_polysyllabic_sentence_is_very_hard_and_a_plain_one_ok(result):
    by_text = {DRAFT[r.offset:r.offset + r.length]: r.level for r in result.sentences}
    assert by_text["Language models forget rare facts."] == "ok"
    hard = [t for t, level in by_text.items() if t.startswith("Substantially")]
    assert by_text[hard[0]] == "very hard"


def test_sentence_levels_follow_the_documented_thresholds():
    levels = SentenceLevels(hard=14, very_hard=18, min_words=8)
    assert levels.level(13.9, 20) == "ok"
    assert levels.level(14.0, 20) == "hard"
    assert levels.level(18.0, 20) == "very hard"
    assert levels.level(30.0, 5) == "ok"


def test_sections_are_placed_against_the_audience_band():
    easy = "# Easy\n\nThe cat sat on the mat. It was warm. The dog ran to the door and sat down.\n"
    placed = readability(easy, target="students").sections[0]
    assert placed.placement == "below"
    strict = readability(easy, target=target_band("students", min_grade=-5, max_grade=-4)).sections[0]
    assert strict.placement == "above"


def test_each_default_audience_has_a_band_and_unknown_ones_are_refused():
    assert set(AUDIENCE_BANDS) == {"peer researchers", "practitioners", "students"}
    with pytest.raises(ConfigError, match="Use one of"):
        target_band("toddlers")
    with pytest.raises(ConfigError, match="Swap"):
        target_band("students", min_grade=14, max_grade=10)


def test_empty_draft_gives_zero_scores_and_a_note():
    result = readability("")
    assert result.overall.words == 0 and result.sentences == ()
    assert "No prose" in result.notes[0]


def test_non_english_draft_gives_scores_and_a_warning():
    german = "# Einleitung\n\n" + "Die Modelle lernen aus großen Textmengen und vergessen seltene Fakten schnell. " * 5
    result = readability(german)
    assert result.overall.words > 20
    assert any("English" in note for note in result.notes)


def test_a_one_megabyte_draft_is_scored():
    paragraph = "The retriever returns passages that the reader model cites in its answer. " * 20
    draft = "\n\n".join(f"## Part {n}\n\n{paragraph}" for n in range(700))
    assert len(draft) > 1_000_000
    result = readability(draft)
    assert len(result.sections) == 700 and result.overall.words > 150_000


def test_to_dict_has_the_keys_the_cli_promises(result):
    data = result.to_dict()
    assert {"overall", "target", "sections", "sentences"} <= data.keys()
    assert {"offset", "length", "grade", "level"} <= data["sentences"][0].keys()
    assert data["target"]["metric"] == "flesch_kincaid_grade"


def test_sentence_grade_of_nothing_is_zero():
    assert sentence_grade(0, 0) == 0.0


def test_run_checks_reports_readability_and_style_with_the_cli_keys():
    from engine.check import run_checks

    reports = run_checks(DRAFT)
    readability_data = reports["readability"].to_dict()
    assert {"overall", "target", "sections", "sentences"} <= readability_data.keys()
    style_data = reports["style"].to_dict()
    assert {"kind", "offset", "length", "message"} <= style_data["findings"][0].keys()
