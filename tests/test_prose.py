"""The Markdown-to-prose map: what counts as prose, and offsets that point back into the draft."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.markup import prose_map

DRAFT = textwrap.dedent("""\
    ---
    title: A draft
    ---

    # Retrieval for peers

    We use BM25 [1] and dense retrieval [2, 3] via `retrieve(q)` at https://example.com/x.
    The loss is $L = -\\log p$ for each **token**, see [the docs](https://docs.example.org).

    ## Method

    | metric | value |
    |--------|-------|
    | recall | 0.91  |

    ```python
    def tokenize(text):
        return text.split()
    ```

    $$
    E = mc^2
    $$

    - First item is here.
    - Second item has <b>bold</b> text.

    Closing Words
    -------------

    The final paragraph.

        indented_code_line = 1

    ## References

    [1] Robertson and Zaragoza. The probabilistic relevance framework.
    """)


@pytest.fixture(scope="module")
def mapped():
    return prose_map(DRAFT)


@pytest.mark.parametrize("hidden", [
    "title: A draft", "[1]", "[2, 3]", "retrieve(q)", "https://example.com", "\\log p",
    "docs.example.org", "recall", "tokenize", "mc^2", "<b>", "indented_code_line", "Zaragoza",
    "**", "# Retrieval", "Method",
])
def test_markdown_elements_are_not_prose(mapped, hidden):
    assert hidden not in mapped.text


@pytest.mark.parametrize("kept", [
    "We use BM25", "dense retrieval", "for each token, see the docs.", "First item is here.",
    "Second item has bold text.", "The final paragraph.",
])
def test_sentences_and_link_text_stay_in_the_prose(mapped, kept):
    assert kept in mapped.text


def test_excluded_spans_name_their_kind(mapped):
    kinds = {e.kind for e in mapped.excluded}
    assert {"front matter", "citation", "code", "url", "math", "table", "html", "references"} <= kinds
    for e in mapped.excluded:
        assert 0 <= e.offset and e.offset + e.length <= len(DRAFT)


def test_headings_give_sections_with_levels_and_offsets(mapped):
    titles = [(s.title, s.heading.level) for s in mapped.sections]
    assert titles == [("Retrieval for peers", 1), ("Method", 2), ("Closing Words", 2), ("References", 2)]
    for s in mapped.sections:
        assert DRAFT[s.heading.offset:].startswith(("# ", "## ", "Closing"))
    method = mapped.sections[1]
    assert "First item is here." in mapped.text[method.text_start:method.text_end]


def test_every_prose_word_maps_back_to_the_same_word_in_the_draft(mapped):
    for word in ["BM25", "dense", "token", "docs", "Second", "bold", "final"]:
        i = mapped.text.index(word)
        offset, length = mapped.original_span(i, i + len(word))
        assert DRAFT[offset:offset + length] == word


def test_a_span_across_removed_markup_covers_the_markup_in_the_draft(mapped):
    start = mapped.text.index("The loss")
    end = mapped.text.index("token,") + len("token")
    offset, length = mapped.original_span(start, end)
    assert DRAFT[offset:offset + length] == "The loss is $L = -\\log p$ for each **token"


def test_list_items_are_separate_blocks(mapped):
    items = [mapped.text[b.start:b.end] for b in mapped.blocks if b.kind == "list_item"]
    assert items == ["First item is here.", "Second item has bold text."]


@pytest.mark.parametrize("draft", ["", "\n\n  \n", "# Only a heading", "```\nnever closed", "---\nno end",
                                   "Price is $5 and $10 today.", "a\r\nb\r\n\r\nc", "| lone pipe"])
def test_odd_drafts_map_without_error(draft):
    mapped = prose_map(draft)
    assert len(mapped.sections) >= 1
    for i in range(len(mapped.text)):
        assert 0 <= mapped.to_original(i) <= len(draft)


def test_dollar_amounts_are_not_mistaken_for_math():
    assert prose_map("Price is $5 and $10 today.").text == "Price is $5 and $10 today."


def test_textstat_works_when_nltk_cannot_download(tmp_path: Path):
    # A fresh interpreter, so no earlier test has already loaded a dictionary.
    script = textwrap.dedent(f"""
        import nltk
        def refuse(*args, **kwargs):
            raise RuntimeError("network is unreachable in this test")
        nltk.download = refuse
        from engine.textstat_data import ensure_cmudict
        root = ensure_cmudict({str(tmp_path)!r})
        import textstat
        assert nltk.data.find("corpora/cmudict").path.startswith({str(tmp_path)!r})
        print(textstat.syllable_count("readability"), textstat.flesch_reading_ease("The cat sat on the mat."))
    """)
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    syllables, ease = done.stdout.split()
    assert int(syllables) == 5 and float(ease) > 90


def test_raw_html_blocks_and_site_templates_are_not_prose():
    from engine.markup import prose_map

    draft = ("Intro text here.\n\n<pre>\nRudi\nLevette\n</pre>\n\n<div class=\"imgcap\">\n<img src=\"a.png\">\n"
             "<div class=\"thecap\">A caption about softmax.</div>\n</div>\n\n"
             "See {% post_url 2019-01-31-lm %} and {{ site.baseurl }} for more.\n")
    text = prose_map(draft).text
    assert "Rudi" not in text and "caption" not in text and "post_url" not in text and "baseurl" not in text
    assert "Intro text here." in text and "for more." in text


def test_footnote_citations_and_hyphenated_surnames_are_people():
    from engine.check.prose import cited_names

    draft = ("Guidance was noted by Sohl-Dickstein et al.[^eq] and by Dhariwal and Nichol[^beat].\n\n"
             "[^eq]: Sohl-Dickstein, Weiss, \"[Deep Unsupervised Learning](https://arxiv.org/abs/1503.03585)\", 2015.\n"
             "[^beat]: Dhariwal, Nichol, \"[Diffusion Models Beat GANs](https://arxiv.org/abs/2105.05233)\", 2021.\n")
    names = cited_names(prose_map(draft))
    assert {"Dhariwal", "Nichol", "Weiss", "Sohl-Dickstein", "Sohl", "Dickstein"} <= names
    from engine.check.jargon import check_jargon

    assert not {"Sohl-Dickstein", "Dhariwal", "Nichol"} & {t.term for t in check_jargon(draft).terms}
