"""Evaluate stage: each measure on small fixed texts with known answers."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from engine.evaluate import EvaluationReport, evaluate_draft
from engine.evaluate.bias import load_lexicon, measure_bias
from engine.evaluate.copying import SourceText, find_copied_spans
from engine.evaluate.coverage import measure_coverage
from engine.evaluate.grounding import measure_grounding
from engine.evaluate.perplexity import measure_perplexity
from engine.evaluate.reference import measure_reference, prose_text
from engine.evaluate.reviews import summarize_reviews
from engine.evaluate.rubric import CRITERION_KEYS, parse_rubric, rubric_unavailable_reason
from engine.records import Passage

LORA_SOURCE = ("LoRA freezes the pretrained model weights and injects trainable rank decomposition matrices into "
               "each layer of the Transformer architecture. Compared with GPT-3 175B fine-tuned with Adam, LoRA "
               "reduces the number of trainable parameters by 10,000 times and the GPU memory requirement by 3 times.")
CITATIONS = {1: [Passage("lora-0", "lora", LORA_SOURCE, 1.0, "LoRA: Low-Rank Adaptation")]}

DRAFT = """# LoRA in practice

## What LoRA does

LoRA freezes the pretrained model weights and trains small low-rank matrices in each layer [1].
LoRA reduces the number of trainable parameters by 10,000 times compared with full fine-tuning of GPT-3 [1].

## Memory

LoRA reduces the GPU memory requirement by 12 times [1].
"""


# --------------------------------------------------------------------------- grounding
def test_fabricated_number_is_an_unsupported_claim(embedder):
    measure = measure_grounding(DRAFT, CITATIONS, embedder)
    flagged = {c.text: c for c in measure.unsupported}
    fabricated = next(text for text in flagged if "12 times" in text)
    assert flagged[fabricated].status == "unsupported"
    assert flagged[fabricated].section == "Memory"
    assert DRAFT[flagged[fabricated].offset:].startswith("LoRA reduces the GPU memory")
    assert not any("10,000" in text for text in flagged)
    assert measure.claims == 3 and measure.cited_share == 1.0
    memory = next(s for s in measure.sections if s.title == "Memory")
    assert memory.claims == 1 and memory.supported == 0


# --------------------------------------------------------------------------- coverage
def test_missing_key_point_and_must_cite_document_are_reported(embedder):
    points = ["LoRA keeps the pretrained weights frozen",
              "QLoRA quantizes the frozen base model to 4-bit NormalFloat"]
    measure = measure_coverage(DRAFT, points, ["lora", "qlora"], CITATIONS, embedder)
    assert measure.missing_points == ["QLoRA quantizes the frozen base model to 4-bit NormalFloat"]
    covered = measure.key_points[0]
    assert covered.covered and DRAFT[covered.offset:].startswith("LoRA freezes")
    assert measure.missing_docs == ["qlora"]
    assert measure.share == 0.5


# --------------------------------------------------------------------------- reference
REFERENCE = """# LoRA

## What LoRA does

LoRA keeps the weights of the pretrained model frozen and learns low-rank update matrices for each layer [2].
This cuts the trainable parameters by a factor of ten thousand.
"""


def test_rouge_and_bleu_equal_the_libraries_own_numbers():
    import sacrebleu
    from rouge_score import rouge_scorer

    measure = measure_reference(DRAFT, REFERENCE)
    draft, reference = prose_text(DRAFT), prose_text(REFERENCE)
    assert "[1]" not in draft and "#" not in reference
    expected = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(reference, draft)
    assert measure.rouge1.fmeasure == pytest.approx(expected["rouge1"].fmeasure, abs=1e-6)
    assert measure.rouge2.recall == pytest.approx(expected["rouge2"].recall, abs=1e-6)
    assert measure.rougeL.precision == pytest.approx(expected["rougeL"].precision, abs=1e-6)
    assert measure.bleu == pytest.approx(sacrebleu.corpus_bleu([draft], [[reference]]).score, abs=1e-6)
    assert 0 < measure.rouge1.fmeasure < 1


def test_identical_texts_score_full_rouge_and_bleu():
    measure = measure_reference(DRAFT, DRAFT)
    assert measure.rouge1.fmeasure == pytest.approx(1.0)
    assert measure.bleu == pytest.approx(100.0)


def test_sections_are_paired_by_heading_for_similarity(embedder):
    measure = measure_reference(DRAFT, REFERENCE, embedder)
    by_title = {s.draft_section: s for s in measure.sections}
    assert by_title["What LoRA does"].reference_section == "What LoRA does"
    assert by_title["What LoRA does"].similarity > 0.6
    assert by_title["Memory"].similarity is None  # the reference has no second section


# --------------------------------------------------------------------------- copying
COPIED = ("the model learns to attend to every position of the input sequence at once so that distant words can "
          "influence each other without passing through a long chain of recurrent steps which made earlier "
          "models slow")


def test_copied_thirty_word_span_is_found_with_its_source():
    source = SourceText("transformer", "Attention Is All You Need",
                        "Background. In this work " + COPIED + ". We also remove convolutions entirely.")
    span_words = COPIED.split()[:30]
    draft = ("## Attention\n\nSelf-attention changes the picture: " + " ".join(span_words).capitalize()
             + " [1]. Our own summary follows here with different words entirely.")
    measure = find_copied_spans(draft, [source, SourceText("other", "Other", "nothing in common at all here")])
    assert len(measure.spans) == 1
    span = measure.spans[0]
    assert span.words == 30 and span.doc_id == "transformer"
    assert span.text.lower() == " ".join(span_words)
    assert draft[span.offset:span.offset + span.length] == span.text
    assert span.source_text.lower() == " ".join(span_words)
    assert measure.copied_share > 0.5


def test_short_shared_phrases_are_not_copying():
    source = SourceText("s", "S", "the number of trainable parameters is small and the model is fast")
    draft = "We keep the number of trainable parameters low, which keeps training cheap on one GPU."
    assert find_copied_spans(draft, [source]).spans == ()


def test_citation_markers_do_not_hide_a_copied_span():
    words = COPIED.split()[:20]
    source = SourceText("t", "T", " ".join(words))
    draft = " ".join(words[:10]) + " [3] " + " ".join(words[10:]) + "."
    measure = find_copied_spans(draft, [source])
    assert [s.words for s in measure.spans] == [20]


# --------------------------------------------------------------------------- bias and safety
def test_lexicon_terms_are_flagged_with_alternatives():
    draft = ("Set up a master/slave pair, add the host to the whitelist, run a sanity check, and "
             "simply run the script. When the user opens the page, he sees the result.")
    hits = measure_bias(draft).terms
    kinds = {draft[h.offset:h.offset + h.length].lower(): h for h in hits}
    assert "master/slave" in kinds and "primary/replica" in kinds["master/slave"].alternatives
    assert "whitelist" in kinds and "allowlist" in kinds["whitelist"].alternatives
    assert "sanity check" in kinds
    assert "simply run" in kinds
    assert any(h.kind == "gendered" for h in hits)


def test_ordinary_text_has_no_lexicon_hits():
    draft = ("The primary node replicates writes to two replicas. We check the output against a held-out set "
             "and report the mean over three seeds. She holds a master's degree.")
    assert measure_bias(draft).terms == ()


def test_personal_data_is_found_but_not_years_or_figures():
    draft = ("Mail jane.doe@uni-example.edu or call +44 20 7946 0958. Write to team@example.com. "
             "Trained in 2017-2018 on 1,000,000 tokens, version 1.15.1, date 2024-11-28.")
    found = measure_bias(draft).personal_data
    assert [(h.kind, h.text) for h in found] == [("email", "jane.doe@uni-example.edu"),
                                                 ("phone", "+44 20 7946 0958")]


def test_lexicon_is_documented_and_every_entry_has_alternatives():
    entries = load_lexicon()
    assert len(entries) >= 15
    assert all(e.alternatives and e.why for e in entries)


# --------------------------------------------------------------------------- rubric
def test_rubric_is_parsed_from_json_or_loose_lines():
    as_json = 'Sure! {"fluency": {"score": 4, "reason": "reads well"}, "relevance": {"score": "5"}, ' \
              '"technical accuracy": {"score": 2, "reason": "one wrong number"}, "originality": 3, "bias": {"score": 9}}'
    scores = {s.criterion: s for s in parse_rubric(as_json)}
    assert scores["fluency"].score == 4 and scores["fluency"].reason == "reads well"
    assert scores["relevance"].score == 5 and scores["accuracy"].score == 2 and scores["originality"].score == 3
    assert scores["bias"].score is None  # 9 is out of range
    loose = ("Fluency and coherence: 3/5 - some long sentences\nRelevance - 4: on topic\n"
             "Technical accuracy (2): the memory figure is wrong\nOriginality: 5 adds an example\n")
    scores = {s.criterion: s for s in parse_rubric(loose)}
    assert [scores[k].score for k in CRITERION_KEYS] == [3, 4, 2, 5, None]
    assert scores["accuracy"].reason.startswith("the memory figure")


def test_rubric_is_withheld_for_the_embedded_small_model(settings):
    assert "too small" in rubric_unavailable_reason(settings)
    capable = settings.with_values(endpoint_url="http://localhost:8000/v1", endpoint_model="Qwen2.5-7B-Instruct")
    assert rubric_unavailable_reason(capable) is None


# --------------------------------------------------------------------------- reviews
def test_reviews_are_summarised_per_reviewer_with_averages_and_comment_sections():
    from engine.store import Review, ReviewComment

    reviews = [Review(1, 1, 10, "ana", {"fluency": 4, "accuracy": 2}, (ReviewComment("Memory", "12x?"),), 0.0),
               Review(2, 1, 10, "bo", {"fluency": 5, "accuracy": 3},
                      (ReviewComment("Memory", "source?"), ReviewComment("", "nice")), 1.0),
               Review(3, 1, 9, "cy", {"fluency": 1}, (), 2.0)]
    summary = summarize_reviews(reviews, version_id=10)
    assert summary.count == 2
    assert summary.averages == {"fluency": 4.5, "accuracy": 2.5}
    assert summary.comment_sections == {"Memory": 2, "": 1}
    assert summary.overall == 3.5


# --------------------------------------------------------------------------- the whole evaluation
def test_evaluation_has_every_section_and_says_why_some_are_missing(embedder, settings):
    report = evaluate_draft(DRAFT, embedder=embedder, citation_map=CITATIONS, reference=REFERENCE,
                            sources=[SourceText("lora", "LoRA", LORA_SOURCE)], settings=settings)
    data = report.to_dict()
    for key in ("grounding", "coverage", "reference", "perplexity", "copying", "bias"):
        assert key in data
    assert data["perplexity"] is None and any("Perplexity" in n for n in data["notes"])
    assert data["rubric"]["available"] is False
    assert "reference" not in EvaluationReport().to_dict()


# --------------------------------------------------------------------------- perplexity (real model)
PARAGRAPH = ("The transformer replaces recurrence with attention. Each token looks at every other token and "
             "weighs them by relevance. Because the computation is parallel, training on long sequences is much "
             "faster than with recurrent networks. The model stacks several such layers, each followed by a small "
             "feed-forward network.")


@pytest.mark.model
def test_perplexity_is_finite_and_higher_for_shuffled_text(llama_llm):
    words = PARAGRAPH.split()
    random.Random(3).shuffle(words)
    original = measure_perplexity("## Transformers\n\n" + PARAGRAPH + "\n", llama_llm)
    shuffled = measure_perplexity("## Transformers\n\n" + " ".join(words) + "\n", llama_llm)
    assert math.isfinite(original.overall) and original.overall > 1
    assert shuffled.overall > original.overall * 1.5
    assert [s.title for s in original.sections] == ["Transformers"]


def test_a_draft_naming_no_source_is_still_checked_for_copying_from_the_corpus(session_settings, embedder,
                                                                               default_index):
    from engine.evaluate.workspace import evaluate_with_settings

    note = (Path(__file__).resolve().parents[1] / "corpus" / "attention-is-all-you-need.md").read_text()
    start = note.index("Recurrence forces computation")
    copied = " ".join(note[start:].split()[:40])
    draft = f"# My take\n\nSome words of my own come first here.\n\n{copied}\n"
    report = evaluate_with_settings(draft, session_settings, embedder=embedder, index=default_index,
                                    load_model=False).to_dict()
    assert report["copying"] is not None
    [span] = report["copying"]["spans"]
    assert span["words"] >= 30 and span["title"] == "Attention Is All You Need"
