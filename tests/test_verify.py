"""Verify stage: sentence splitting, citation parsing, support scoring and strict-mode replacement."""

from __future__ import annotations

import json

import pytest

from engine.records import Passage
from engine.verify import citations_in, makes_claim, split_sentences, support_score, verify_draft

LORA = Passage(
    chunk_id="lora-1", doc_id="lora", score=1.0, title="LoRA: Low-Rank Adaptation of Large Language Models",
    authors=("Edward J. Hu", "Yelong Shen", "Phillip Wallis"), year=2021,
    text=("LoRA keeps the weights of a pretrained model frozen and adds a pair of small trainable low-rank "
          "matrices to selected layers of the Transformer. Against full fine-tuning of GPT-3 175B with Adam, "
          "it needs 10,000 times fewer trainable parameters and about 3 times less GPU memory. Because the "
          "low-rank update can be merged into the frozen weights, it adds no latency at inference time."))
FLASH = Passage(
    chunk_id="flash-1", doc_id="flash", score=1.0, title="FlashAttention", authors=("Tri Dao",), year=2022,
    text=("FlashAttention computes exact attention while cutting the number of reads and writes between GPU "
          "high-bandwidth memory and on-chip SRAM. It does this by tiling the attention computation into "
          "blocks. The paper reports a 3x speedup when training GPT-2 with sequence length 1K."))
CITATIONS = {1: [LORA], 2: [FLASH]}

DRAFT = """# Fine-tuning cheaply

In this article we look at how LoRA makes fine-tuning cheap. LoRA freezes the pretrained weights and \
trains small low-rank matrices added to Transformer layers [1]. Against full fine-tuning of GPT-3, LoRA \
needs 50,000 times fewer trainable parameters [1]. FlashAttention gives a 3x training speedup on GPT-2 [2]. \
QLoRA fine-tunes a 65B model on a single 48GB GPU. Have you tried it on your own models?

```python
model = get_peft_model(model, config)  # not prose. Not checked.
```

Questions are welcome in the comments!

## References
[1] Hu et al. LoRA. 2021.
[2] Dao et al. FlashAttention. 2022.
"""


def test_sentence_offsets_are_exact_in_the_markdown():
    spans = split_sentences(DRAFT)
    assert spans, "the draft has prose"
    for span in spans:
        assert DRAFT[span.offset:span.offset + span.length] == span.text


def test_splitting_skips_headings_code_and_the_reference_list():
    texts = [s.text for s in split_sentences(DRAFT)]
    assert not any("get_peft_model" in t or t.startswith("#") or "Hu et al. LoRA" in t for t in texts)
    assert texts[0] == "In this article we look at how LoRA makes fine-tuning cheap."


def test_abbreviations_and_decimals_do_not_end_sentences():
    text = "Attention uses e.g. keys and values, i.e. vectors [1]. Hu et al. report 0.67 recall, see Fig. 2 [2]."
    assert [s.text for s in split_sentences(text)] == [
        "Attention uses e.g. keys and values, i.e. vectors [1].",
        "Hu et al. report 0.67 recall, see Fig. 2 [2].",
    ]


def test_tables_are_not_prose():
    text = "| model | score |\n|---|---|\n| BERT. | 80.5 |\n\nBERT scored 80.5 on GLUE [1]."
    assert [s.text for s in split_sentences(text)] == ["BERT scored 80.5 on GLUE [1]."]


@pytest.mark.parametrize("sentence, numbers", [
    ("LoRA is cheap [1].", [1]),
    ("Both agree [1, 3].", [1, 3]),
    ("See the survey [2-4].", [2, 3, 4]),
    ("Mixed [5], [2–3] and [5].", [5, 2, 3]),
    ("A link [text](http://x) and no marker.", []),
])
def test_citation_markers_are_parsed(sentence, numbers):
    assert citations_in(sentence) == numbers


def test_faithful_paraphrase_with_its_citation_is_supported(embedder):
    result = support_score("LoRA trains only small low-rank matrices while the pretrained weights stay frozen [1].",
                           [LORA], embedder)
    assert result.supported
    assert result.best_span is not None and "low-rank" in result.best_span.text


def test_fabricated_number_is_flagged_unsupported(embedder):
    result = support_score("LoRA needs 50,000 times fewer trainable parameters than full fine-tuning [1].",
                           [LORA], embedder)
    assert not result.supported
    assert result.signals.unsupported_numbers == ("50,000 times",)


def test_numbers_written_differently_still_count_as_supported(embedder):
    result = support_score("LoRA needs 10k times fewer trainable parameters and 3x less GPU memory [1].",
                           [LORA], embedder)
    assert result.signals.unsupported_numbers == ()
    assert result.supported


def test_swapped_author_name_is_flagged(embedder):
    result = support_score("LoRA was proposed by Vaswani and colleagues to make fine-tuning cheap [1].",
                           [LORA], embedder)
    assert not result.supported
    assert "Vaswani" in result.signals.unsupported_entities


def test_real_author_from_passage_metadata_is_not_flagged(embedder):
    result = support_score("Hu and colleagues freeze the pretrained weights and train low-rank matrices [1].",
                           [LORA], embedder)
    assert "Hu" not in result.signals.unsupported_entities


def test_opposite_claim_is_flagged(embedder):
    result = support_score("FlashAttention is an approximate attention method [2].", [FLASH], embedder)
    assert not result.supported


def test_questions_transitions_and_invitations_are_not_claims():
    assert not makes_claim("Have you tried it on your own models?")
    assert not makes_claim("In this article we look at how LoRA makes fine-tuning cheap.")
    assert not makes_claim("Questions are welcome in the comments!")
    assert makes_claim("QLoRA fine-tunes a 65B model on a single 48GB GPU.")


def test_hedged_and_plain_statements_without_a_listed_verb_are_claims():
    """Read in last run's drafts: these passed strict mode unchecked, and each was wrong."""
    assert makes_claim("Additionally, the transfer of knowledge from a large model to a small one can be "
                       "challenging, and the resulting models may not generalize well to new data.")
    assert makes_claim("It calculates the fraction of candidate n-grams that appear in each reference.")
    assert not makes_claim("You will learn how the Transformer replaces recurrence with attention.")


def test_an_uncited_hedged_claim_no_source_backs_is_removed_in_strict_mode(embedder):
    draft = "LoRA freezes W0 and trains BA [1]. The resulting models may not generalize well to new data."
    report = verify_draft(draft, CITATIONS, embedder, strict=True)
    hedged = [c for c in report.sentences if c.text.startswith("The resulting models")][0]
    assert hedged.status == "replaced" and hedged.replacement == "" and "generalize" not in report.markdown


def test_uncited_factual_claim_is_flagged(embedder):
    report = verify_draft(DRAFT, CITATIONS, embedder, strict=False)
    by_text = {c.text: c for c in report.sentences}
    assert by_text["QLoRA fine-tunes a 65B model on a single 48GB GPU."].status == "uncited_claim"
    assert by_text["Have you tried it on your own models?"].status == "no_claim"
    assert by_text["Questions are welcome in the comments!"].status == "no_claim"


def test_without_strict_mode_flags_are_shown_and_the_draft_is_unchanged(embedder):
    report = verify_draft(DRAFT, CITATIONS, embedder, strict=False)
    statuses = {c.text[:30]: c.status for c in report.sentences}
    assert statuses["Against full fine-tuning of GP"] == "unsupported"
    assert statuses["FlashAttention gives a 3x trai"] == "supported"
    assert statuses["LoRA freezes the pretrained we"] == "supported"
    assert report.markdown == DRAFT


def test_strict_mode_removes_an_unsupported_sentence_and_keeps_it_in_the_report(embedder):
    report = verify_draft(DRAFT, CITATIONS, embedder, strict=True)
    removed = next(c for c in report.sentences if c.text.startswith("Against full fine-tuning"))
    assert removed.status == "replaced" and removed.replacement == ""
    assert "50,000" in removed.text  # the original stays in the report, with why and the closest evidence
    assert any("removed in strict mode" in r for r in removed.reasons) and removed.evidence
    assert "50,000" not in report.markdown and "Against full fine-tuning" not in report.markdown


def test_strict_mode_leaves_only_supported_or_replaced_claims(embedder):
    report = verify_draft(DRAFT, CITATIONS, embedder, strict=True)
    assert {c.status for c in report.sentences} <= {"supported", "replaced", "no_claim"}
    assert "QLoRA" not in report.markdown  # no source of the draft supports it
    assert report.grounding.supported_share_after == 1.0


def test_strict_mode_takes_a_sentence_that_points_back_at_a_removed_one(embedder):
    # Seen in a default-model draft: "One of these is ..." left after the sentence listing "these" was removed.
    draft = ("LoRA freezes the pretrained weights and trains small low-rank matrices added to Transformer layers [1]. "
             "LoRA was invented by Geoffrey Hinton at Oxford in 1995 [1]. "
             "It needs no extra latency at inference time because the update merges into the weights [1].\n\n"
             "It also cuts the number of reads and writes between GPU memory and SRAM by tiling [2].")
    report = verify_draft(draft, CITATIONS, embedder, strict=True)
    dangling = next(c for c in report.sentences if c.text.startswith("It needs"))
    assert dangling.status == "replaced" and dangling.replacement == ""
    assert dangling.reasons[0].startswith("it begins with 'It'")
    assert "It needs no extra latency" not in report.markdown
    # a new paragraph's "It" follows no removal in its paragraph: kept, and so is the opening sentence
    assert "It also cuts" in report.markdown and report.markdown.startswith("LoRA freezes")
    assert "It needs no extra latency" in verify_draft(draft, CITATIONS, embedder, strict=False).markdown


def test_citation_to_a_missing_source_is_unsupported(embedder):
    report = verify_draft("LoRA freezes the pretrained weights [7].", CITATIONS, embedder, strict=False)
    assert report.sentences[0].status == "unsupported"
    assert any("[7]" in r for r in report.sentences[0].reasons)


def test_grounding_figures_follow_alce(embedder):
    report = verify_draft(DRAFT, CITATIONS, embedder, strict=False)
    g = report.grounding
    assert g.claims == 4  # three cited sentences and one uncited claim
    assert g.cited_share == 0.75
    assert g.citation_recall == 0.5  # two of four claims supported by their citations
    assert g.citation_precision == pytest.approx(2 / 3, abs=1e-3)
    payload = json.loads(report.to_json())
    assert payload["grounding"]["citation_recall"] == 0.5
    assert len(payload["sentences"]) == len(report.sentences)


RESNET = Passage(
    chunk_id="resnet-3", doc_id="resnet", score=1.0, title="Deep Residual Learning for Image Recognition",
    authors=("Kaiming He", "Xiangyu Zhang"), year=2015,
    text=("When deeper networks start converging, accuracy saturates and then degrades rapidly as depth grows. "
          "Such degradation is not caused by overfitting, and adding more layers leads to higher training error. "
          "Residual networks add identity shortcuts that skip two or three layers and add their input to the output."))


def test_a_copied_reference_back_pointing_at_a_sentence_the_draft_never_said_is_not_supported(embedder):
    # The source's "Such degradation" means the saturating accuracy of the sentence before it; copied after a
    # sentence about shortcuts, it points at nothing (session 13's resnet, vit and distillation drafts).
    lost = ("Residual networks add identity shortcuts that skip two or three layers [1]. Such degradation is not "
            "caused by overfitting, and adding more layers leads to higher training error [1].")
    report = verify_draft(lost, {1: [RESNET]}, embedder, strict=True)
    first, second = report.sentences
    assert first.status == "supported"
    assert second.status == "replaced" and second.replacement == ""
    assert any("'such' is copied from its source" in r and "When deeper networks start converging" in r
               for r in second.reasons)
    # Uncited, strict mode would add the citation that supports its words: it goes all the same (session 17's ViT
    # draft kept "This resolution increase during fine-tuning improves the performance [1].").
    uncited = ("Residual networks add identity shortcuts that skip two or three layers [1]. Such degradation is not "
               "caused by overfitting, and adding more layers leads to higher training error.")
    second = verify_draft(uncited, {1: [RESNET]}, embedder, strict=True).sentences[1]
    assert second.status == "replaced" and second.replacement == ""
    assert any("'such' is copied from its source" in r for r in second.reasons)
    # After the sentence it refers to, the same words are kept.
    kept = ("As deeper networks converge, their accuracy saturates and then degrades quickly with depth [1]. Such "
            "degradation is not caused by overfitting, and adding more layers leads to higher training error [1].")
    report = verify_draft(kept, {1: [RESNET]}, embedder, strict=True)
    assert [s.status for s in report.sentences] == ["supported", "supported"]
    uncited_kept = verify_draft(kept.replace(" error [1].", " error."), {1: [RESNET]}, embedder, strict=True)
    assert [s.status for s in uncited_kept.sentences] == ["supported", "supported"]
    assert uncited_kept.sentences[1].replacement.endswith("training error [1].")
    # A writer's own "This" that the source does not use is the writer's reference, not a copied one.
    own = ("Residual networks add identity shortcuts that skip two or three layers [1]. This means their input is "
           "added to the output of those layers [1].")
    report = verify_draft(own, {1: [RESNET]}, embedder, strict=False)
    assert not any("copied from its source" in r for s in report.sentences for r in s.reasons)
