"""The one renderer behind the preview and the exports: math, diagrams, code, remote images, bounded work."""

from __future__ import annotations

import re

import pytest

from engine import render
from engine.diagrams import chromium_path
from engine.render import Diagram

ALIGNED = r"""Before.

$$
\begin{aligned}
a &= b + c \\
d &= e
\end{aligned}
$$
"""


def _no_diagrams(sources):
    return [Diagram(s, error="off in this test") for s in sources]


def test_aligned_block_keeps_its_line_breaks_as_two_table_rows():
    html = render.render_html(ALIGNED, diagrams=None)
    assert "<math" in html and "$$" not in html and "\\begin" not in html
    assert html.count("<mtr>") == 2  # `\\` split the rows; a lone `\` would have merged them


def test_every_math_delimiter_becomes_mathml_and_money_stays_text():
    html = render.render_html(r"Inline $\mathbf{x}$, \(a+b\), then $$E=mc^2$$ and it costs $5 or $6." "\n\n"
                              r"\[ \sum_i x_i \]" "\n\n" r"\begin{equation} y = 1 \end{equation}", diagrams=None)
    assert html.count("<math") == 5
    assert "$5 or $6" in html


def test_labels_and_function_names_are_drawn_not_shown_as_commands():
    html = render.render_html(r"$$\hat{y} = \arg\max_y p(y) \label{eq:best} \nonumber$$", diagrams=None)
    assert "<math" in html and not re.search(r"\\[A-Za-z]", re.sub(r"<[^>]+>", "", html))


def test_bad_latex_shows_its_source_with_the_reason():
    html = render.render_html(r"Broken $\frac{1}{$ here", diagrams=None)
    assert 'class="math-error"' in html and r"\frac{1}{" in html and "check its LaTeX" in html


def test_math_cannot_smuggle_markup():
    html = render.render_html(r"$\text{<script>alert(1)</script><img src=x onerror=alert(2)>}$", diagrams=None)
    assert "<script" not in html and "<img" not in html and "onerror" not in html


def test_code_blocks_are_highlighted_and_citations_inside_stay_plain():
    html = render.render_html("```python\ndef f(x):\n    return x[1]\n```\n", citations={1}, diagrams=None)
    assert '<div class="highlight">' in html and '<span class="k">def</span>' in html
    assert "#ref-1" not in html


def test_remote_image_becomes_a_link_and_never_loads():
    html = render.render_html("Look ![pixel](https://tracker.example/p.gif?u=ana) and ![local](fig.png).",
                              diagrams=None)
    assert "<img" not in html
    assert 'href="https://tracker.example/p.gif?u=ana"' in html and "not loaded" in html and "[image: local]" in html


def test_mermaid_block_becomes_a_picture_inside_the_page():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><text>Query</text></svg>'
    html = render.render_html("```mermaid\nflowchart LR\n  A --> B\n```\n",
                              diagrams=lambda sources: [Diagram(s, svg=svg) for s in sources])
    assert re.search(r'<img alt="Diagram 1" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+">', html)
    assert "flowchart" not in html


def test_diagram_that_fails_shows_source_and_error():
    html = render.render_html("```mermaid\nflowchart LR\n  A[oops --> \n```\n",
                              diagrams=lambda sources: [Diagram(s, error="Parse error on line 2") for s in sources])
    assert "flowchart LR" in html and "Parse error on line 2" in html and "<img" not in html


def test_a_diagram_placeholder_typed_by_the_writer_is_not_replaced():
    html = render.render_html('<div class="diagram">pd-diagram-0000-0</div>\n\n```mermaid\ngraph TD\n```\n',
                              diagrams=lambda sources: [Diagram(s, svg="<svg/>") for s in sources])
    assert html.count("<img") == 1 and "pd-diagram-0000-0" in html


@pytest.mark.timeout(60)  # the old renderer took 77 s on this text
def test_deeply_nested_brackets_render_in_bounded_time():
    text = "[" * 20_000 + "]" * 20_000
    html = render.render_html(text, diagrams=None)
    assert html.count("[") == 20_000


def test_a_list_nested_400_levels_renders_instead_of_raising():
    text = "".join("    " * i + f"- item {i}\n" for i in range(400)) + "\nThe end.\n"
    html = render.render_html(text, diagrams=None)  # RecursionError before
    assert "item 399" in html and "The end." in html and "levels deep" in html


def test_ordinary_nesting_is_still_formatted():
    text = "".join("  " * i + f"- item {i}\n" for i in range(8))
    html = render.render_html(text, diagrams=None)
    assert html.count("<ul>") == 8 and "render-note" not in html


def test_text_beyond_the_size_limit_is_shown_plain_with_a_message():
    text = "word " * (render.MAX_CHARS // 5 + 10)
    html = render.render_html(text, diagrams=None)
    assert "shown as plain text" in html and "<pre>" in html


@pytest.mark.skipif(chromium_path() is None, reason="Chromium draws the diagrams")
def test_bundled_mermaid_draws_one_block_and_reports_the_broken_one():
    from engine.diagrams import render_mermaid

    good, bad = render_mermaid(["flowchart LR\n  Q[Query] --> R[Retriever]\n", "flowchart LR\n  A[oops -->\n"])
    assert good.svg.startswith("<svg") and "Retriever" in good.svg and good.png
    assert not bad.svg and bad.error


def test_preview_document_is_a_locked_down_page_with_mathml():
    page = render.preview_document("# T\n\nInline $x^2$.\n")
    assert page.startswith("<!DOCTYPE html>") and "<math" in page
    assert "default-src 'none'" in page and "script" not in page.lower().replace("script-src", "")


def test_a_failing_browser_is_not_retried_on_every_rerun(monkeypatch):
    from engine import diagrams

    calls = []

    def failing(sources):
        calls.append(list(sources))
        return [Diagram(s, error="Chromium did not draw the diagram (crashed).") for s in sources], False

    monkeypatch.setattr(diagrams, "_draw", failing)
    monkeypatch.setattr(diagrams, "_failed", {})
    source = "flowchart LR\n  Only --> Here\n"
    first = diagrams.render_mermaid([source])
    second = diagrams.render_mermaid([source])
    assert calls == [[source]] and first == second and "crashed" in second[0].error
    assert source not in diagrams._cache  # tried again once RETRY_AFTER_S has passed
