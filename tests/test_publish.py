"""DOCX (pandoc) and PDF (headless Chromium) of one article with math, a diagram, code, a table and citations."""

from __future__ import annotations

import io
import shutil

import pytest

from engine import publish
from engine.diagrams import chromium_path
from engine.render import Diagram

ARTICLE = r"""# Retrieval-augmented generation, with the math

Retrieval-augmented generation conditions a generator on retrieved passages [1]. The retriever
scores a query $q$ against a passage with an inner product $\mathbf{x}^\top \mathbf{y}$ [2].

$$
\begin{aligned}
p(y \mid x) &= \sum_{z} p_\eta(z \mid x)\, p_\theta(y \mid x, z) \\
s(q, p) &= E_Q(q)^\top E_P(p)
\end{aligned}
$$

The loss is \(\mathcal{L} = -\log p(y \mid x)\).

\begin{equation}
\hat{y} = \arg\max_y p(y \mid x)
\end{equation}

```mermaid
flowchart LR
  Q[Query] --> R[Retriever]
  R --> G[Generator]
```

```python
def score(q, p):
    return q @ p
```

| model | EM |
|---|---|
| RAG-Seq | 44.5 |

![secret](LOCAL_FILE)

## References

[1] Lewis, P., Perez, E. (2020). Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks. NeurIPS. arXiv:2005.11401
[2] Karpukhin, V., Oguz, B. (2020). Dense Passage Retrieval for Open-Domain Question Answering. EMNLP. arXiv:2004.04906
"""

# A 1x1 white PNG stands in for the drawn diagram where a test does not need the browser.
_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="


def _drawn(sources):
    return [Diagram(s, svg="<svg xmlns='http://www.w3.org/2000/svg'/>", png=_PNG) for s in sources]


def test_pandoc_input_has_the_diagram_as_a_picture_and_environments_as_math():
    text = publish.pandoc_markdown(ARTICLE, diagrams=_drawn)
    assert "![Diagram 1](data:image/png;base64," in text and "flowchart" not in text
    assert "$$\n\\begin{equation}" in text
    assert text.count("## References") == 1


def test_missing_pandoc_names_how_to_install_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    reason = publish.missing_tool("docx")
    assert "apt-get install pandoc" in reason
    with pytest.raises(publish.ExportToolMissing, match="apt-get install pandoc"):
        publish.to_docx(ARTICLE, diagrams=_drawn)


@pytest.mark.skipif(shutil.which("pandoc") is None, reason="pandoc makes the DOCX")
def test_docx_has_equations_diagram_table_and_references_and_reads_no_local_file(tmp_path):
    import base64

    import docx

    secret = tmp_path / "secret.png"  # a picture on the server's disk a draft names by its path
    secret.write_bytes(base64.b64decode(_PNG))
    article = ARTICLE.replace("LOCAL_FILE", str(secret))
    document = docx.Document(io.BytesIO(publish.to_docx(article, diagrams=_drawn)))
    body = document.element.xml
    assert body.count("<m:oMath>") >= 4  # $q$, the inner product, the aligned block, \(...\), the equation
    assert "<m:eqArr>" in body or body.count("<m:r>") > 20  # the aligned rows are Word equation rows
    assert len(document.inline_shapes) == 1  # the diagram; the file on disk was not read into the document
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Dense Passage Retrieval for Open-Domain Question Answering" in text and "[1]" in text
    assert "secret" in text  # the image became a link
    assert document.tables and document.tables[0].cell(1, 0).text == "RAG-Seq"


@pytest.mark.skipif(chromium_path() is None, reason="Chromium prints the PDF")
def test_pdf_text_holds_the_references_and_the_rendered_math():
    from pypdf import PdfReader

    pdf = publish.to_pdf(ARTICLE, diagrams=_drawn)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks" in text
    assert "Dense Passage Retrieval" in text
    assert "$$" not in text and "\\begin" not in text and "\\mathbf" not in text


def test_doctor_says_which_export_programs_are_missing_and_how_to_get_them(data_dir, monkeypatch, capsys):
    import json

    from engine.cli import main

    monkeypatch.setattr(shutil, "which", lambda name: None)  # neither pandoc nor Chromium on PATH
    assert main(["doctor", "--json"]) == 0  # optional programs are facts, not problems
    facts = json.loads(capsys.readouterr().out)["facts"]
    assert "apt-get install pandoc" in facts["pandoc (DOCX export)"]
    assert "apt-get install chromium" in facts["chromium (diagrams, PDF export)"]
