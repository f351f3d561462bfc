"""Plan stage: an outline shaped by the corpus and the brief, and outline editing."""

from __future__ import annotations

import pytest

from engine.plan import (add_section, background_terms, model_can_plan, move_section, outline_from_rows,
                         outline_rows, plan_outline, remove_section, rename_section, section_kind, section_words,
                         trim_outline)
from engine.records import Brief, Outline, Section
from fakes_drafting import CORPUS, OverlapRetriever, ScriptedLLM


def kinds(outline: Outline) -> list[str]:
    return [section_kind(s) for s in outline.sections]


def test_outline_follows_peer_writing_practice():
    outline = plan_outline(Brief(topic="Low-rank adaptation LoRA fine-tuning"), OverlapRetriever())
    found = kinds(outline)
    assert found[0] == "opening" and found[-1] == "questions"
    for kind in ("core", "example", "limitations", "further_research"):
        assert kind in found
    assert found.index("core") < found.index("example") < found.index("limitations") < found.index("further_research")
    assert "What you will learn" == outline.sections[0].heading


def test_core_sections_come_from_retrieved_passages_when_there_are_no_key_points():
    outline = plan_outline(Brief(topic="LoRA low-rank weight update method"), OverlapRetriever(), n_core=3)
    core = [s.heading for s in outline.sections if section_kind(s) == "core"]
    assert len(core) == 3
    assert all("LoRA" in h or "QLoRA" in h for h in core)
    assert "How LoRA works" in core


def test_key_points_become_core_sections_in_order():
    brief = Brief(topic="LoRA", key_points=("why full fine-tuning is costly", "merging the update into W0"))
    outline = plan_outline(brief, OverlapRetriever())
    core = [s for s in outline.sections if section_kind(s) == "core"]
    assert [s.heading for s in core] == ["Why full fine-tuning is costly", "Merging the update into W0"]
    assert core[1].query == "merging the update into W0"


def test_opening_states_what_the_reader_will_learn_from_the_core_sections():
    outline = plan_outline(Brief(topic="LoRA", key_points=("rank of the update",)), OverlapRetriever())
    assert "rank of the update".capitalize() in outline.sections[0].purpose


def test_first_core_section_carries_a_mermaid_diagram_suggestion():
    outline = plan_outline(Brief(topic="LoRA method"), OverlapRetriever())
    core = next(s for s in outline.sections if section_kind(s) == "core")
    assert "```mermaid" in core.notes and "flowchart" in core.notes


def test_background_skips_terms_the_audience_already_knows():
    terms = background_terms(CORPUS, assumed=())
    assert "Low-rank adaptation (LoRA)" in terms and "Intrinsic rank" in terms
    assert background_terms(CORPUS, assumed=("LoRA",)) == ["Intrinsic rank"]
    outline = plan_outline(Brief(topic="LoRA key terms", assumed_terms=("LoRA", "intrinsic rank")),
                           OverlapRetriever())
    assert "background" not in kinds(outline)


def test_background_terms_are_terms_not_sentences_of_a_paper():
    # Session 17's PDF briefs planned "define Most related to ours", "define The third" and "define The first
    # objective function": openings of a paper's sentences that happen to read "X is the ...".
    from dataclasses import replace

    text = ("Most related to ours is the model of Cordonnier et al. (2020). The third is the path length between "
            "long-range dependencies. The first objective function is the cross entropy with the soft targets. "
            "Which of these effects dominates is an empirical question. Training an ensemble of models is a very "
            "simple way to improve performance. Knowledge distillation is a way to train a small model from a large "
            "one. Embedding sharing is a way to tie the generator's and the discriminator's token embeddings.")
    paper = replace(CORPUS[0], text=text, section="2 Related work")
    assert background_terms([paper], assumed=()) == ["Knowledge distillation", "Embedding sharing"]


def test_background_section_names_the_terms_to_define():
    outline = plan_outline(Brief(topic="LoRA key terms", assumed_terms=("LoRA",)), OverlapRetriever())
    background = next(s for s in outline.sections if section_kind(s) == "background")
    assert "Intrinsic rank" in background.purpose and "LoRA" in background.purpose  # named as skipped


def test_weak_model_is_not_asked_to_refine_headings(settings):
    assert not model_can_plan(settings)
    assert not model_can_plan(settings.with_values(llm_model="/models/SmolLM2-360M-Instruct.gguf"))
    assert model_can_plan(settings.with_values(llm_model="Qwen/Qwen2.5-7B-Instruct", llm_backend="transformers"))
    assert model_can_plan(settings.with_values(llm_backend="openai-compatible", endpoint_url="http://x/v1"))


def test_capable_model_rewrites_core_headings_and_a_bad_answer_is_ignored():
    brief = Brief(topic="LoRA", key_points=("cost of fine-tuning", "the low-rank update"))
    good = ScriptedLLM("1. Why full fine-tuning does not scale\n2. Learning a low-rank update instead")
    outline = plan_outline(brief, OverlapRetriever(), llm=good, refine=True)
    core = [s.heading for s in outline.sections if section_kind(s) == "core"]
    assert core == ["Why full fine-tuning does not scale", "Learning a low-rank update instead"]
    prompt = good.prompts[0][-1].content
    assert "<sources>" in prompt and "not instructions" in prompt
    bad = ScriptedLLM("Sure! Here are some headings")
    outline = plan_outline(brief, OverlapRetriever(), llm=bad, refine=True)
    assert [s.heading for s in outline.sections if section_kind(s) == "core"] == ["Cost of fine-tuning",
                                                                                   "The low-rank update"]


def test_section_words_split_the_target_length_by_kind():
    outline = plan_outline(Brief(topic="LoRA", length_words=1000), OverlapRetriever())
    words = section_words(outline, Brief(topic="LoRA", length_words=1000))
    assert abs(sum(words) - 1000) < 40
    core_i = kinds(outline).index("core")
    assert words[core_i] > words[0] > words[-1]


def test_trim_keeps_core_sections_first_in_original_order():
    outline = plan_outline(Brief(topic="LoRA method results"), OverlapRetriever(), n_core=3)
    two = trim_outline(outline, 2)
    assert kinds(two) == ["core", "core"]
    four = trim_outline(outline, 5)
    assert kinds(four) == ["opening", "core", "core", "core", "example"]


def test_outline_editing_add_remove_rename_move():
    outline = Outline("T", [Section("A"), Section("B"), Section("C")])
    assert [s.heading for s in add_section(outline, "new part", at=1).sections] == ["A", "New part", "B", "C"]
    assert [s.heading for s in remove_section(outline, 0).sections] == ["B", "C"]
    renamed = rename_section(outline, 2, "Sea")
    assert renamed.sections[2].heading == "Sea" and renamed.sections[2].query == "Sea"
    assert [s.heading for s in move_section(outline, 0, 2).sections] == ["B", "C", "A"]
    assert [s.heading for s in outline.sections] == ["A", "B", "C"]  # the original is untouched


def test_table_edits_round_trip_and_blank_rows_are_dropped():
    outline = plan_outline(Brief(topic="LoRA"), OverlapRetriever())
    rows = outline_rows(outline)
    rows[1]["heading"] = "Renamed"
    rows.append({"heading": "", "purpose": "", "query": ""})
    edited = outline_from_rows(outline, rows)
    assert len(edited.sections) == len(outline.sections)
    assert edited.sections[1].heading == "Renamed"
    assert edited.sections[0].notes == outline.sections[0].notes


@pytest.mark.model
def test_plan_from_the_default_corpus_names_real_documents(default_index):
    from engine.evidence import index_retriever

    outline = plan_outline(Brief(topic="Parameter-efficient fine-tuning with low-rank adapters"),
                           index_retriever(default_index))
    core = " ".join(s.heading for s in outline.sections if section_kind(s) == "core")
    assert "LoRA" in core


def test_long_titles_put_the_aspect_after_the_title():
    long = [p.__class__(**{**p.__dict__, "title": "Training Compute-Optimal Large Language Models"})
            for p in CORPUS[:3]]
    outline = plan_outline(Brief(topic="compute-optimal training method"), OverlapRetriever(long), n_core=2)
    core = [s.heading for s in outline.sections if section_kind(s) == "core"]
    assert core[0] == "Training Compute-Optimal Large Language Models: the problem"


def test_rewording_a_purpose_keeps_the_sections_kind():
    outline = plan_outline(Brief(topic="LoRA"), OverlapRetriever())
    rows = outline_rows(outline)
    questions = next(r for r in rows if r["heading"] == "Questions?")
    questions["purpose"] = "Core — wrap up with the two things to remember"  # the writer's words, not a kind
    edited = outline_from_rows(outline, rows)
    assert section_kind(next(s for s in edited.sections if s.heading == "Questions?")) == "questions"


def test_the_kind_is_chosen_in_the_table_by_its_label():
    outline = plan_outline(Brief(topic="LoRA"), OverlapRetriever())
    rows = outline_rows(outline)
    assert rows[0]["kind"] == "Opening"
    rows[0]["kind"] = "Further research"
    assert outline_from_rows(outline, rows).sections[0].kind == "further_research"


def test_a_section_moved_and_renamed_in_the_table_keeps_its_id_and_notes():
    outline = plan_outline(Brief(topic="LoRA"), OverlapRetriever())
    rows = outline_rows(outline)
    core = next(r for r in rows if r["kind"] == "Core")
    rows.remove(core)
    rows.insert(0, core | {"heading": "Moved and renamed"})
    rows.append({"heading": "A new one", "purpose": "", "query": ""})  # added in the table: no id yet
    edited = outline_from_rows(outline, rows)
    old = next(s for s in outline.sections if s.id == core["id"])
    assert edited.sections[0].id == old.id and edited.sections[0].notes == old.notes
    assert edited.sections[-1].id not in {s.id for s in outline.sections} and edited.sections[-1].kind == "core"


def test_planned_sections_have_distinct_ids_and_purposes_without_a_kind_label():
    outline = plan_outline(Brief(topic="LoRA"), OverlapRetriever())
    assert len({s.id for s in outline.sections}) == len(outline.sections)
    assert not any("—" in s.purpose.split(" ", 1)[0] or s.purpose.startswith(("Core", "Opening"))
                   for s in outline.sections)


def test_an_old_purpose_naming_its_kind_is_read_once_into_the_kind_field():
    section = Section("Questions?", purpose="Questions — invite the reader's questions")
    assert (section.kind, section.purpose) == ("questions", "invite the reader's questions")
    section.purpose = "Core — anything"
    assert section_kind(section) == "questions"


def test_an_unknown_kind_is_refused_with_the_choices():
    from engine.errors import PeerDraftError

    with pytest.raises(PeerDraftError, match="opening, background, core"):
        Section("X", kind="intro")
