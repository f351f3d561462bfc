"""A newly assembled article keeps the writer's hand edits to the sections the assembly did not change."""

from __future__ import annotations

from engine.article_merge import merge_edits

PREVIOUS = """# LoRA in practice

## Why adapters

<!-- To draft: motivation -->

## How LoRA works

LoRA freezes the weights and trains a low-rank update [1].

## References

[1] Hu et al. (2021). LoRA: Low-Rank Adaptation of Large Language Models.
"""

# "Why adapters" was drafted: it cites a new document, which now comes first, so LoRA becomes [2].
ASSEMBLED = """# LoRA in practice

## Why adapters

Full fine-tuning of a 65B model needs hundreds of GB of memory [1].

## How LoRA works

LoRA freezes the weights and trains a low-rank update [2].

## References

[1] Dettmers et al. (2023). QLoRA: Efficient Finetuning of Quantized LLMs.
[2] Hu et al. (2021). LoRA: Low-Rank Adaptation of Large Language Models.
"""


def test_an_untouched_section_keeps_the_writers_edit_with_renumbered_citations():
    edited = PREVIOUS.replace("trains a low-rank update [1].",
                              "trains a low-rank update [1]; rank 8 is a good start for 7B models [1].")
    merged = merge_edits(PREVIOUS, ASSEMBLED, edited)
    assert "Full fine-tuning of a 65B model needs hundreds of GB of memory [1]." in merged  # new draft taken
    assert "trains a low-rank update [2]; rank 8 is a good start for 7B models [2]." in merged  # edit kept
    assert merged.rstrip().endswith("[2] Hu et al. (2021). LoRA: Low-Rank Adaptation of Large Language Models.")
    assert merged.count("## References") == 1


def test_a_redrafted_section_replaces_the_writers_older_text_of_that_section():
    edited = PREVIOUS.replace("<!-- To draft: motivation -->", "My own notes on motivation.")
    merged = merge_edits(PREVIOUS, ASSEMBLED, edited)
    assert "My own notes on motivation." not in merged
    assert "hundreds of GB of memory [1]" in merged


def test_sections_the_writer_added_or_deleted_stay_so():
    edited = PREVIOUS.replace("## References", "## A worked example\n\nOn a 7B model, rank 8 adds 4M parameters [1].\n\n"
                                               "## References")
    merged = merge_edits(PREVIOUS, ASSEMBLED, edited)
    assert merged.index("## How LoRA works") < merged.index("## A worked example") < merged.index("## References")
    assert "rank 8 adds 4M parameters [2]." in merged
    without = PREVIOUS.replace("## How LoRA works\n\nLoRA freezes the weights and trains a low-rank update [1].\n\n", "")
    assert "## How LoRA works" not in merge_edits(PREVIOUS, ASSEMBLED, without)


def test_no_edits_means_the_new_assembly_as_is():
    assert merge_edits(PREVIOUS, ASSEMBLED, PREVIOUS) == ASSEMBLED


def test_headings_inside_code_fences_do_not_split_sections():
    edited = PREVIOUS.replace("trains a low-rank update [1].", "trains a low-rank update [1].\n\n```\n# not a heading\n```")
    merged = merge_edits(PREVIOUS, ASSEMBLED, edited)
    assert "```\n# not a heading\n```" in merged and merged.count("## How LoRA works") == 1


def test_a_heading_renamed_in_the_outline_keeps_the_writers_text_under_the_new_name():
    edited = PREVIOUS.replace("trains a low-rank update [1].", "trains a low-rank update [1], my wording.")
    renamed = PREVIOUS.replace("## How LoRA works", "## LoRA, step by step")
    merged = merge_edits(PREVIOUS, renamed, edited)
    assert "## LoRA, step by step\n\nLoRA freezes the weights and trains a low-rank update [1], my wording." in merged
    assert "## How LoRA works" not in merged
