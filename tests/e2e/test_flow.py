"""The whole PeerDraft flow in a real headless Chromium against the real app (`peerdraft run`).

Local mode runs steps 1-6 in order on one app and one browser; team mode (step 7) runs on a
second app. A failed step skips the later steps of its flow (see conftest), so the first
failure is the one to read. Screenshots land in tests/artifacts/e2e/<test>/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

UNIQUE_WORD = "quokkaformer"  # appears only in the uploaded files, so a search for it finds them


def make_pdf(path: Path, title: str, lines: list[str]) -> Path:
    """A small, valid one-page PDF whose text pypdf can extract (built from raw PDF objects)."""
    def escape(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 16 Tf", "72 740 Td", f"({escape(title)}) Tj", "/F1 11 Tf", "0 -28 Td"]
    for line in lines:
        ops += [f"({escape(line)}) Tj", "0 -16 Td"]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (%s) >>" % escape(title).encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


PDF_LINES = [
    f"The {UNIQUE_WORD} is a small decoder that drafts tokens for a larger verifier model.",
    "Speculative decoding accepts the drafted tokens the verifier agrees with, in one pass.",
    f"In our measurements the {UNIQUE_WORD} doubled decoding throughput on one GPU.",
    "The acceptance rate depends on how closely the draft model matches the verifier.",
    "Longer drafts pay off only when the acceptance rate stays above one half.",
]

MARKDOWN_NOTE = f"""---
title: "Draft Models for Fast Inference"
authors: ["Ada Example", "Bob Example"]
year: 2024
---
# Draft Models for Fast Inference

## Method

A {UNIQUE_WORD} draft model proposes several tokens and the target model checks them in parallel.
Accepted tokens are kept; the first rejected token is resampled from the target distribution,
so the output distribution is unchanged. The draft model shares the tokenizer of the target.

## Results

Throughput rose by a factor of two to three on summarisation and translation tasks while
the quality of the output stayed the same as plain decoding.
"""


@pytest.fixture(scope="module")
def upload_files(e2e_workdir) -> list[Path]:
    folder = e2e_workdir / "uploads"
    folder.mkdir(exist_ok=True)
    pdf = make_pdf(folder / "speculative-decoding.pdf", "Speculative Decoding with Tiny Drafters", PDF_LINES)
    note = folder / "draft-models.md"
    note.write_text(MARKDOWN_NOTE, encoding="utf-8")
    return [pdf, note]


def documents_count(page_text: str) -> int:
    """N from the Corpus page's "Documents (N)" heading."""
    match = re.search(r"Documents \((\d+)\)", page_text)
    assert match, f"no 'Documents (N)' heading on the page:\n{page_text[:800]}"
    return int(match.group(1))


# ---- local mode: steps 1-6 ------------------------------------------------------------------------
@pytest.mark.flow("local")
def test_step1_first_start_indexes_the_default_corpus_with_visible_progress(browser, shot):
    browser.driver.get(browser.base_url)  # no idle wait: the progress shows while it runs
    browser.wait_for("[data-testid=stMain]", "Indexing the bundled", timeout=120, idle=False)
    browser.wait_for("[data-testid=stProgress]", timeout=60, idle=False)
    shot("indexing-progress")
    browser.wait_text("Reference corpus indexed", timeout=300)
    shot("write-page-after-indexing")
    browser.nav("Corpus")
    text = browser.page_text()
    assert "Documents (" in text and "Documents (0)" not in text, text[:500]
    assert "QLoRA: Efficient Finetuning of Quantized LLMs" in browser.table_text()
    shot("corpus-indexed")


@pytest.mark.flow("local")
def test_step2_uploaded_pdf_and_markdown_are_listed_and_searchable(browser, shot, upload_files):
    browser.expand("Add papers")
    uploader = browser.wait_for("[data-testid=stFileUploaderDropzoneInput], input[type=file]", timeout=30,
                                visible=False)  # Streamlit hides the file input behind its drop zone
    uploader.send_keys("\n".join(str(p) for p in upload_files))
    for path in upload_files:  # the chip shows a shortened name; its title attribute has the full one
        browser.wait_for(f"[data-testid=stFileChipName][title='{path.name}']", timeout=30, idle=False)
    shot("files-chosen")
    before = documents_count(browser.page_text())
    browser.click("Add to corpus")
    browser.wait_text(f"Documents ({before + 2})", timeout=180)
    browser.expand("Add papers")  # the per-file report sits in the (now collapsed) expander
    text = browser.page_text()
    for path in upload_files:
        assert path.name in text, f"{path.name} missing from the upload report:\n{text[:1500]}"
    table = browser.table_text()
    for title in ("Speculative Decoding with Tiny Drafters", "Draft Models for Fast Inference"):
        assert title in table, f"{title!r} not in the documents table:\n{table}"
    shot("files-indexed")
    browser.fill("stTextInput", "Query", UNIQUE_WORD)
    mark = browser.wait_for("mark", UNIQUE_WORD, timeout=60)
    assert mark.text.lower() == UNIQUE_WORD
    main = browser.page_text()
    assert "Speculative Decoding with Tiny Drafters" in main or "Draft Models for Fast Inference" in main
    shot("search-highlight")


TOPIC = "Parameter-efficient fine-tuning with LoRA and QLoRA"
KEY_POINTS = "LoRA trains low-rank adapters\nQLoRA quantizes the base model to 4 bits"
CORE_SECTION = "LoRA trains low-rank adapters"
RENAMED_OPENING = "Why adapters matter"
# Two terms the jargon check flags as undefined; the bundled corpus defines WordPiece (BERT note).
JARGON_PARAGRAPH = "BERT splits rare words with WordPiece before pre-training, and QLoRA stores frozen weights in NF4."

# The text streamed by st.write_stream: the element right after the "Model output" caption.
STREAM_JS = """
const cap = Array.from(document.querySelectorAll('[data-testid=stCaptionContainer]'))
    .find(c => c.innerText.includes('Model output'));
const box = cap && cap.closest('[data-testid=stElementContainer]');
const next = box && box.nextElementSibling;
// Elements left from the previous run are marked stale until the new run replaces them.
const fresh = el => el && el.getAttribute('data-stale') !== 'true';
return fresh(box) && fresh(next) && next.getAttribute('data-testid') === 'stElementContainer' ? next.innerText : null;
"""


def draft_and_watch_stream(browser, timeout: float = 900) -> list[str]:
    """Click "Draft section" and return the distinct non-empty texts the stream showed while running."""
    browser.click("Draft section", wait=False)
    texts, began = [], time.monotonic()
    while time.monotonic() - began < timeout:
        text = browser.driver.execute_script(STREAM_JS)
        if text and text.strip() and (not texts or texts[-1] != text):
            texts.append(text)
        if time.monotonic() - began > 2 and browser.is_idle():
            break
        time.sleep(0.05)
    browser.wait_idle(timeout=60)
    return texts


@pytest.mark.flow("local")
def test_step3_brief_outline_edit_and_streamed_draft_with_citations(browser, shot):
    browser.nav("Write")
    browser.wait_text("Brief")
    browser.fill("stTextInput", "Topic", TOPIC, commit=False)  # inside a form: submitted together
    browser.fill("stTextArea", "Key points", KEY_POINTS, commit=False)
    browser.fill("stNumberInput", "Target length", "300", commit=False)  # a short section keeps CPU time down
    shot("brief")
    browser.click("Plan outline")
    browser.wait_text("Evidence and draft", timeout=300)
    outline = browser.table_text(0)
    assert CORE_SECTION in outline, outline
    shot("outline")
    opening = next(line for line in outline.splitlines()[5:] if line and not line.isdigit())  # after 5 headers
    browser.edit_cell(opening, RENAMED_OPENING)
    assert RENAMED_OPENING in browser.table_text(0)
    browser.select("Section", CORE_SECTION)
    shot("outline-edited")
    streamed = draft_and_watch_stream(browser)
    assert len(streamed) >= 2, f"the draft did not stream (texts seen: {streamed!r})"
    browser.wait_text("Verified text", timeout=120)
    shot("drafted")
    article = browser.widget("stTextArea", "Markdown (editable)").find_element("css selector", "textarea")
    markdown = article.get_attribute("value")
    assert f"## {RENAMED_OPENING}" in markdown, markdown[:600]
    assert re.search(r"\[\d+\]", markdown.split("## References")[0]), "no [n] citation in the drafted article"
    references = markdown.split("## References", 1)[1] if "## References" in markdown else ""
    assert re.search(r"^\[1\] .+", references, re.M), f"no reference list:\n{markdown[-800:]}"
    # The writer edits the article: a paragraph with jargon the Review page must flag (step 4).
    heading = f"## {RENAMED_OPENING}\n"
    edited = markdown.replace(heading, heading + "\n" + JARGON_PARAGRAPH + "\n", 1)
    browser.fill("stTextArea", "Markdown (editable)", edited)
    browser.click("Save")
    browser.toast("Saved version")
    shot("saved")


def highlighted_terms(browser, expected: set[str], timeout: float = 60) -> set[str]:
    """The terms the Review page's draft marks, read until `expected` are among them or `timeout` passes.

    On a loaded CI machine the summary strip can show before the Draft tab's highlighted HTML is drawn."""
    from selenium.common.exceptions import StaleElementReferenceException

    deadline, terms = time.monotonic() + timeout, set()
    while time.monotonic() < deadline:
        try:
            marks = browser.driver.find_elements("css selector", "[data-testid=stHtml] mark[title]")
            terms = {m.text for m in marks if not m.get_attribute("title").endswith("sentence")}
        except StaleElementReferenceException:
            terms = set()
        if expected <= terms:
            break
        time.sleep(0.5)
    return terms


@pytest.mark.flow("local")
def test_step4_review_highlights_terms_and_shows_readability_and_evaluation(browser, shot):
    browser.nav("Review")
    browser.wait_text("Undefined terms", timeout=300)
    strip = {m.text.splitlines()[0]: m.text for m in browser.driver.find_elements("css selector", "[data-testid=stMetric]")}
    assert "band" in strip.get("Readability", ""), strip
    terms = highlighted_terms(browser, {"WordPiece", "NF4"})
    assert {"WordPiece", "NF4"} <= terms, (f"undefined terms not highlighted; marked: {terms}; summary: {strip}; "
                                          f"page: {browser.page_text()[:1500]!r}")
    shot("draft-highlighted")

    browser.tab("Readability")
    browser.wait_for("[data-testid=stVegaLiteChart]", timeout=60)
    shot("readability-chart")

    browser.tab("Evaluation")
    browser.click("Run evaluation")
    browser.wait_for("[data-testid=stMain] h3", "Grounding", timeout=600)
    grounded = next(m.text for m in browser.driver.find_elements("css selector", "[data-testid=stMetric]")
                    if m.text.startswith("Grounded claims"))
    assert re.search(r"\d+%", grounded), f"no grounding figure in the summary: {grounded!r}"
    shot("evaluation")


@pytest.mark.flow("local")
def test_step4b_review_inserts_a_suggested_definition(browser, shot):
    browser.tab("Terms")
    before = int(re.search(r"(\d+) term\(s\) to define", browser.page_text()).group(1))
    summary = browser.wait_for("[data-testid=stExpander] summary", "WordPiece", timeout=30)
    summary.click()
    deadline = time.monotonic() + 30  # the expander's body is drawn after the click; slow on a busy machine
    while "Suggested definition" not in (expanded := summary.find_element("xpath", "..").text) \
            and time.monotonic() < deadline:
        time.sleep(0.3)
    shot("term-expanded")
    assert "Suggested definition" in expanded, f"no corpus definition offered:\n{expanded}"
    assert "Source: BERT" in expanded, f"the suggestion does not name its source:\n{expanded}"
    browser.click("Insert definition")
    browser.tab("Terms")  # the rerun may bring the first tab forward
    browser.wait_text("Definition of WordPiece inserted: saved as version", timeout=120)
    browser.wait_text(f"{before - 1} term(s) to define", timeout=60)
    strip = {m.text.splitlines()[0]: m.text for m in browser.driver.find_elements("css selector", "[data-testid=stMetric]")}
    assert strip.get("Undefined terms", "").splitlines()[-1] == str(before - 1), strip
    shot("definition-inserted")
    browser.tab("Draft")
    marks = browser.driver.find_elements("css selector", "[data-testid=stHtml] mark[title]")
    assert "WordPiece" not in {m.text for m in marks if not m.get_attribute("title").endswith("sentence")}
    html = browser.driver.find_element("css selector", "[data-testid=stHtml]").text
    assert re.search(r"WordPiece is a [^.]*\[\d+\]\.", html), "the inserted definition or its citation is missing"


@pytest.mark.flow("local")
def test_step5_exports_html_and_markdown_downloads(browser, shot):
    browser.nav("Write")
    browser.wait_text("Article", timeout=120)
    buttons = {b.text: b for b in browser.driver.find_elements("css selector", "[data-testid=stDownloadButton] button")}
    html_button = next((b for t, b in buttons.items() if "HTML" in t), None)
    md_button = next((b for t, b in buttons.items() if "Markdown" in t), None)
    bib_button = next((b for t, b in buttons.items() if "BibTeX" in t), None)
    assert html_button and md_button and bib_button, \
        f"no HTML, Markdown and BibTeX downloads on the Write page: {list(buttons)}"
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", html_button)
    shot("export-buttons")
    html_button.click()
    html_file = browser.downloaded(".html")
    page = html_file.read_text(encoding="utf-8")
    assert "<script" not in page.lower(), "exported HTML carries a script"
    assert TOPIC in page and re.search(r'<a [^>]*href="#ref-\d+"[^>]*>\d+</a>', page), \
        "exported HTML lacks the title or linked citations"
    assert re.search(r'<li id="ref-1"', page), "exported HTML lacks the reference list"
    md_button.click()
    md_file = browser.downloaded(".md")
    text = md_file.read_text(encoding="utf-8")
    assert text.startswith("# ") and TOPIC in text and "## References" in text, text[:400]
    assert re.search(r"^\[1\] .+", text.split("## References", 1)[1], re.M), text[-600:]
    assert JARGON_PARAGRAPH in text and f"## {RENAMED_OPENING}" in text, "the export lost the writer's edits"
    bib_button.click()
    assert browser.downloaded(".bib").read_text(encoding="utf-8").lstrip().startswith("@")
    browser.assert_clean()
    shot("exported")


@pytest.mark.flow("local")
def test_step6_after_reload_the_library_lists_the_article_and_its_versions(browser, shot):
    browser.driver.refresh()  # a new browser session: nothing left in session state
    browser.wait_idle()
    browser.nav("Library")
    browser.wait_text("Versions", timeout=120)
    assert TOPIC in browser.table_text(0)
    versions = browser.table_text(1)
    assert "manual" in versions, versions
    shot("library")


# ---- team mode: step 7 ----------------------------------------------------------------------------
TEAM_TOPIC = "Retrieval-augmented generation for question answering"


def sign_in(browser, name: str) -> None:
    """Sign in on the team instance's login page (the only page before login)."""
    browser.open("")
    if browser.driver.find_elements("css selector", "[data-testid=stSidebar] button"):
        for button in browser.driver.find_elements("css selector", "[data-testid=stSidebar] button"):
            if "Sign out" in button.text:
                button.click()
                time.sleep(0.3)
                browser.wait_idle()
                break
    browser.wait_for("[data-testid=stForm]", "User name", timeout=120)
    browser.fill("stTextInput", "User name", name, commit=False)
    browser.fill("stTextInput", "Password", browser.team_password, commit=False)
    browser.click("Sign in")
    browser.wait_for("[data-testid=stSidebar]", f"Signed in as {name}", timeout=120)


def sign_out(browser) -> None:
    browser.click("Sign out")
    browser.wait_for("[data-testid=stForm]", "User name", timeout=60)


@pytest.mark.flow("team", later_steps_need_it=True)
def test_step7a_writer_signs_in_and_creates_an_article(team_browser, shot):
    browser = team_browser
    browser.open("")
    assert [l.text for l in browser.driver.find_elements("css selector", "[data-testid=stSidebarNav] a")] == [], \
        "team mode must show only the sign-in page before login"
    shot("login-page")
    sign_in(browser, "ada")
    shot("signed-in")
    browser.nav("Write")
    browser.wait_text("Brief", timeout=600)  # the first visit also indexes the bundled corpus
    browser.fill("stTextInput", "Topic", TEAM_TOPIC, commit=False)
    browser.click("Plan outline")
    browser.wait_text("Evidence and draft", timeout=300)
    browser.click("Save")
    browser.toast("Saved version")
    browser.nav("Library")
    browser.wait_text("Versions")
    assert TEAM_TOPIC in browser.table_text(0)
    shot("ada-library")


@pytest.mark.flow("team")
def test_step7b_another_writer_cannot_see_the_article(team_browser, shot):
    browser = team_browser
    sign_out(browser)
    sign_in(browser, "bob")
    browser.nav("Library")
    browser.wait_text("Library")
    text = browser.page_text()
    grids = browser.driver.find_elements("css selector", "[data-testid=stDataFrame]")
    assert TEAM_TOPIC not in text and not (grids and TEAM_TOPIC in browser.table_text(0)), \
        "bob can see ada's article"
    shot("bob-library")


@pytest.mark.flow("team", later_steps_need_it=True)
def test_step7c_writer_shares_the_article_with_a_reviewer(team_browser, shot):
    browser = team_browser
    sign_out(browser)
    sign_in(browser, "ada")
    browser.nav("Library")
    browser.wait_text("Versions")
    browser.fill("stTextInput", "Share with", "rita")
    browser.click("Share")
    browser.wait_text("rita")
    shot("shared")


@pytest.mark.flow("team")
def test_step7d_reviewer_leaves_a_review_on_the_shared_article(team_browser, shot):
    browser = team_browser
    sign_out(browser)
    sign_in(browser, "rita")
    browser.nav("Review")
    browser.wait_text("Peer review", timeout=300)
    assert TEAM_TOPIC in browser.widget("stSelectbox", "Article").get_attribute("innerText") or \
        TEAM_TOPIC in browser.page_text()
    browser.tab("Peer review")
    browser.fill("stTextArea", "Comment", "The opening should say who the article is for.", commit=False)
    browser.click("Submit review")
    browser.toast("Review saved")
    shot("review-submitted")
    browser.wait_text("Reviews")
    reviews = next(m.text for m in browser.driver.find_elements("css selector", "[data-testid=stMetric]")
                   if m.text.startswith("Reviews"))
    assert "1" in reviews.splitlines()[1:2], reviews
