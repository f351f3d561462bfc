"""Export: Markdown with references, sanitized standalone HTML, BibTeX, report, version diff."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine import export
from engine.errors import NotFound
from engine.records import Document
from engine.store import Store

DRAFT = """# Attention, briefly

Transformers replace recurrence with attention [1]. BERT pre-trains bidirectionally [2].

```python
x = [1]  # not a citation
```

## References

[1] Vaswani, A., Shazeer, N. (2017). Attention Is All You Need. NeurIPS. arXiv:1706.03762
[2] Devlin, J., Chang, M. (2019). BERT: Pre-training of Deep Bidirectional Transformers. NAACL. arXiv:1810.04805
[3] Nobody (2020). Never cited below. Nowhere.
"""

MALICIOUS = """# Evil <script>alert(1)</script> title

Hello <script>document.cookie</script> world [1].

<img src=x onerror="alert(2)">
<a href="javascript:alert(3)">click</a> and [link](javascript:alert(4)) and
<a href="JaVaScRiPt:alert(5)" onclick="alert(6)">x</a> <div style="background:url(javascript:alert(7))">s</div>
<iframe src="https://evil.example"></iframe><svg onload="alert(8)"></svg>
<object data="javascript:alert(9)"></object><form action="javascript:alert(10)"><input></form>
[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)

## References

[1] Mallory (2024). <script>alert('ref')</script><img src=x onerror=alert(11)> [t](javascript:alert(12)). Venue.
"""


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.attrs = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, k.lower(), (v or "")) for k, v in attrs)


def _parse(page: str) -> _Collector:
    collector = _Collector()
    collector.feed(page)
    return collector


def test_markdown_export_keeps_body_and_one_reference_list():
    out = export.to_markdown(DRAFT)
    assert out.count("## References") == 1
    assert "[1] Vaswani, A." in out and out.startswith("# Attention, briefly")


def test_markdown_export_replaces_references_from_documents():
    doc = Document("d1", "Attention Is All You Need", ("Ashish Vaswani", "Noam Shazeer"), 2017, "NeurIPS",
                   "1706.03762")
    out = export.to_markdown("Body [1].\n", export.references_from_documents({1: doc}))
    assert "[1] Ashish Vaswani, Noam Shazeer (2017). Attention Is All You Need. NeurIPS. arXiv:1706.03762" in out


def test_html_links_citations_to_reference_anchors_but_not_inside_code():
    page = export.to_html(DRAFT)
    parsed = _parse(page)
    hrefs = [v for tag, k, v in parsed.attrs if tag == "a" and k == "href"]
    assert hrefs.count("#ref-1") == 1 and "#ref-2" in hrefs and "#ref-3" not in hrefs
    ids = {v for _, k, v in parsed.attrs if k == "id"}
    assert {"ref-1", "ref-2", "ref-3"} <= ids
    code = page[page.index('<div class="highlight">'):]
    code = code[:code.index("</div>")]
    assert re.sub(r"<[^>]+>", "", code).strip() == "x = [1]  # not a citation"  # highlighted, not linked
    assert "<title>Attention, briefly</title>" in page and "<style>" in page


def test_html_of_a_malicious_draft_has_no_script_handlers_or_dangerous_urls():
    page = export.to_html(MALICIOUS)
    parsed = _parse(page)
    assert not {"script", "iframe", "svg", "object", "embed", "form", "input", "img"} & set(parsed.tags)
    for tag, name, value in parsed.attrs:
        assert not name.startswith("on"), (tag, name)
        assert name != "style", tag
        if name in ("href", "src", "action", "data"):
            assert value.startswith(("#", "http://", "https://", "mailto:")), (tag, name, value)
    # No tag carries a javascript: URL. (The draft's raw HTML block holds a Markdown link; inside an HTML
    # block it is not parsed, so "[link](javascript:…)" stays on the page as inert text.)
    assert not [tag for tag in re.findall(r"<[^>]+>", page) if "javascript:" in tag.lower()]
    # The reference entry survives as text and keeps its anchor.
    assert "ref-1" in {v for _, k, v in parsed.attrs if k == "id"} and "Mallory" in page


def test_bibtex_lists_only_cited_documents_with_escaped_fields():
    bib = export.export_text(DRAFT, "bibtex")
    assert bib.count("@inproceedings{") == 2 and "Never cited" not in bib
    assert "vaswani2017attention" in bib and "eprint = {1706.03762}" in bib
    assert "author = {Vaswani, A. and Shazeer, N.}" in bib
    doc = Document("d", "Costs & 50% of $ {braces}_x", ("Ann O'Neil",), 2021, "Journal of Tests")
    entry = export.to_bibtex([doc, doc])
    assert entry.count("@article") == 1
    assert r"Costs \& 50\% of \$ \{braces\}\_x" in entry and "journal = {Journal of Tests}" in entry


def test_bibtex_keys_are_unique():
    docs = [Document("a", "Attention", ("A. Vaswani",), 2017), Document("b", "Attention", ("B. Vaswani",), 2017)]
    bib = export.to_bibtex(docs)
    assert "{vaswani2017attention," in bib and "{vaswani2017attentiona," in bib


def test_reference_line_parsing_recovers_authors_year_title_venue_and_arxiv():
    doc = export.document_from_reference(export.Reference(
        1, "Vaswani, A., Shazeer, N., et al. (2017). Attention Is All You Need. NeurIPS. arXiv:1706.03762"))
    assert doc.year == 2017 and doc.title == "Attention Is All You Need" and doc.venue == "NeurIPS"
    assert doc.arxiv_id == "1706.03762" and doc.authors[-1] == "others"


def test_report_exports_as_markdown_and_sanitized_html():
    report = "# Evaluation\n\nGrounding: 90%\n\n<script>alert(1)</script>\n"
    assert export.export_report(report, "md") == report
    assert "<script" not in export.export_report(report, "html").lower()


def test_version_diff_table_is_side_by_side_and_sanitized():
    table = export.diff_table_html("line one\nsame\n", "line <script>x</script> two\nsame\n", "v1", "v2")
    assert "<table" in table and ("diff_add" in table or "diff_chg" in table)
    assert table.count("<td") > 4  # two columns of line numbers and text
    assert "<script" not in table.lower()


def test_export_article_enforces_access(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    alice, bob = store.insert_user("alice", "writer"), store.insert_user("bob", "writer")
    article = store.create_article(alice, "Mine")
    store.save_version(alice, article.id, DRAFT)
    assert "Attention" in export.export_article(store, alice, article.id, "html")
    for fmt in export.FORMATS:
        with pytest.raises(NotFound):
            export.export_article(store, bob, article.id, fmt)


@pytest.mark.skipif(not any(Path(f).is_file() for f in export.MATH_FONTS), reason="no OpenType math font installed")
def test_standalone_html_embeds_a_math_font_cut_down_to_the_formulas():
    import base64
    import io

    from fontTools.ttLib import TTFont

    page = export.to_html("# T\n\nInline $\\sqrt{d_k} \\sum_i x_i$ here.\n")
    data = re.search(r"@font-face \{ font-family: 'PeerDraft Math';[^}]*src: url\(data:font/\w+;base64,([A-Za-z0-9+/=]+)\)",
                     page).group(1)
    font = TTFont(io.BytesIO(base64.b64decode(data)))
    assert "MATH" in font and len(base64.b64decode(data)) < 60_000  # the MATH table kept, ~600 KB cut down
    assert {ord(c) for c in "∑√"} <= set(font.getBestCmap())
    assert "font-src data:" in page
    assert export.math_font_css("<p>no math</p>") == "" and export.math_font_css("<math><mi>x</mi></math>", ()) == ""


@pytest.mark.skipif(not Path(export.render.TEXT_FONTS[0][0]).is_file(), reason="fonts-dejavu-core not installed")
def test_standalone_html_embeds_its_text_and_code_faces():
    page = export.to_html("# Title\n\nSome *italic* and **bold** words with `code`.\n")
    faces = re.findall(r"@font-face \{ font-family: '([^']+)'; font-weight: (\w+); font-style: (\w+);", page)
    assert ("PeerDraft Serif", "normal", "normal") in faces and ("PeerDraft Serif", "bold", "italic") in faces
    assert ("PeerDraft Mono", "normal", "normal") in faces
    assert len(page) < 400_000  # cut down to Latin-1 and the characters used, not whole font files (~700 KB each)
