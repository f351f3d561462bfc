"""PDF reading for the ingest stage: layout (fonts, positions, columns) through pdfplumber/pdfminer.six, header
metadata apart from the body, running lines, footnotes, tables and captions labelled, references parsed, OCR
for scanned pages.

Why pdfplumber: it exposes every character with its font name, size and position (pdfminer.six underneath,
both MIT), which is what title/author blocks, two-column reading order and headings need; pypdf (BSD) stays
for encryption, document metadata and as a second text extractor for pages pdfminer cannot decode. PyMuPDF
would be faster but is AGPL, which a team deployment cannot take on lightly.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, replace

from engine.chunking import (AFTER_REFERENCES, REFERENCES_HEADING, Block, clean_text, looks_like_heading,
                             unfold_ligatures)
from engine.errors import IngestError
from engine.bibliography import ReferenceEntry, parse_reference

log = logging.getLogger(__name__)

_PAGE_NUMBER = re.compile(r"^(page\s*)?[-–]?\s*\d{1,4}\s*[-–]?(\s*(of|/)\s*\d{1,4})?$", re.IGNORECASE)
_ARXIV_STAMP = re.compile(r"arXiv:\s*(\d{4}\.\d{4,5})(v\d+)?\s*\[[^\]]+\]\s*(\d{1,2}\s+\w{3}\s+(\d{4}))?")
_STAMP_LIKE = re.compile(r"arXiv|\d{4}\.\d{4,5}(v\d+)?\s*\[", re.IGNORECASE)
_CAPTION = re.compile(r"^(Table|Figure|Fig\.)\s*(\d+|[IVX]+)\s*[:.|]", re.IGNORECASE)
_ABSTRACT_INLINE = re.compile(r"^(Abstract)(?:\s*[-—–.:]\s*|\s+)(\S.*)$", re.IGNORECASE)
_NUMBER_TOKEN = re.compile(r"^[-+±(]?[\d.,]+[%)*×x]?$|^[-–—]$|^±$")
_BOLD_FONT = re.compile(r"bold|medi|semibold|black|heavy|cmbx|-b$|\.b$|,b$", re.IGNORECASE)
_MATH_FONT = re.compile(r"cmmi|cmsy|cmex|msbm|msam|math|symbol|stix|euex|eusm|rsfs", re.IGNORECASE)
_REFERENCE_START = re.compile(r"^\s*\[(\d{1,3})\]\s*")
_NUMBERED_REFERENCE = re.compile(r"^\s*(\d{1,3})\.\s+[A-Z]")
_AFFILIATION = re.compile(
    r"universit|institut|college|school|department|dept\b|laborator|\blab\b|labs\b|research|inc\b|corp|"
    r"google|deepmind|microsoft|facebook|meta ai|openai|nvidia|amazon|apple|ibm|brain|center|centre|academy|"
    r"\bai\b|technolog|polytechn|faculty|\bcnrs\b|\binria\b|street|avenue|\bcity\b|\busa\b|\buk\b|china|canada|"
    # whole words only where a name can end in the letters ('Sumit Sanghai', 'Amit': no MIT)
    r"germany|france|japan|switzerland|california|toronto|montr[eé]al|stanford|berkeley|\bmit\b|\bcmu\b|"
    r"equal contribution|corresponding|work done|conference|proceedings|preprint|copyright|arxiv|"
    r"abstract|published|under review|workshop|@|"
    r"\bmember\b|\bfellow\b|\bieee\b|"  # 'Kyogu Lee, Senior Member, IEEE': a grade, no person
    # fields and places that read like two capitalised names ('Computer Science', 'Artificial Intelligence',
    # 'Life Sciences', 'United Kingdom' set on a line of their own under a name)
    r"scien|intelligen|engineering|informati|comput|mathemat|statistic|physics|linguistic|kingdom|"
    r"\bunited\b|austria|italy|spain|netherlands|belgium|sweden|denmark|norway|finland|poland|israel|india|"
    r"korea|taiwan|singapore|australia|hong kong|greece|portugal|ireland|slovenia|brazil", re.IGNORECASE)
# ('Linxi “Jim” Fan': a nickname in quotes is part of the name)
_NAME_TOKEN = re.compile(r"^(?:[A-ZÀ-ÖØ-ÞŁŚŻŹĆŃ][\w'’\-À-ÿłśżźćńąęóšžčřůý]*\.?|[A-Z]\.(?:-?[A-Z]\.)*|[“\"‘][A-Z][a-z]+[”\"’]|de|van|von|der|"
                         r"da|di|del|la|le|bin|al|el|y)$")
# footnote marks after a name; OCR reads a dagger after a word as a quote mark ('Hinton*‘ Oriol Vinyals\' Jeff')
# (ACL papers mark affiliations with card suits: 'Uri Alon♠'; GLM sets numbers after a mark: 'Zhengxiao Du∗1,2')
# (Rho-1 marks them with Greek letters and stars glued to the name: 'Zhenghao Lin⋆ χϕ Zhibin Gou⋆πϕ Xiao Liuϕ')
_MARK_CHARS = "*∗†‡§¶♠♣♢♡♦♥⋆⋄◇"
_GREEK_MARKS = "α-ωϕϑϵ"  # marks only where set on or between names (an Info /Author may be written in Greek)
_MARKERS = re.compile(rf"[‖♯♭♮✝⊥#⇤{_MARK_CHARS}]+|(?<=[a-zà-ÿ*∗†‡§¶♠♣♢♡♦♥⋆⋄])\d+(?:,\d+)*(?=[^\w]|$)|"
                      r"(?<=[a-zà-ÿ*])[‘’'`]+(?=\s|$)")
# a mark set on a name ends it: 'Shaoqing Ren∗ Kaiming He' is two names set one space apart
# and so do affiliation numbers glued to it ('Atharva Naik7 David Stap8 Haizhi Gary Lai11', 40 names in one block)
_ATTACHED_MARKS = re.compile(rf"(?<=[a-zà-ÿ])(?:(?:\d+(?:,\d+)*)?[{_MARK_CHARS}{_GREEK_MARKS}]+(?:\d+(?:,\d+)*)?|\d+(?:,\d+)*)(?=\s|$)")
# '2014 IEEE International Conference on ...': the year before the publisher belongs to the venue
_VENUE = re.compile(r"((?:19|20)\d\d\s+(?:(?:IEEE|ACM|SIAM|IAPR)\s+)?(?:International\s+|Annual\s+)?)?"
                    r"(\d+(?:st|nd|rd|th)\s+)?(Conference|Proceedings|Workshop|Symposium|Journal|Transactions)\b.*|"
                    r"\b(NeurIPS|NIPS|ICLR|ICML|ACL|NAACL|EMNLP|CVPR|ICCV|ECCV|AAAI|IJCAI|KDD|SIGIR)\b[^,;]*\d{4}",
                    re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# a copyright line ('© 2014 Nitish Srivastava, ...'; JMLR's circled c comes out as a plain 'c')
# JMLR's circled c can also come out as a large circle before the year and a 'c' after it ('◯2013 c Dan ...')
_COPYRIGHT = re.compile(r"^(©|◯|\(c\)|c|copyright)\s*(©\s*)?(19|20)\d\d\b", re.IGNORECASE)
# 'Published: January 3, 2017' on a journal's first page: the year of the paper, not of the PDF file
_PUBLISHED = re.compile(r"\bPublished(?: online)?\s*:?\s+(?:[A-Z][a-z]+\.?\s+)?(?:\d{1,2},?\s+)?"
                        r"(?:[A-Z][a-z]+\.?\s+)?((?:19|20)\d\d)\b")
# the end of a reference entry followed by the pages that cite it (CVF's back-references): '..., 2014. 1, 3, 4'
# (the tail can wrap onto a line of its own: '1, 3, 6, 7', '5810–5825, 2024. 2, 6' in a CVPR workshop paper)
_BACK_REFERENCES = re.compile(r"(?:[A-Za-z]{2,}.*|(?:^|[\s,])(?:19|20)\d\d[a-z]?)\.\s+\d{1,3}(?:,\s*\d{1,3})*$|"
                              r"^\d{1,3}(?:,\s*\d{1,3})+$")
_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"<>]+[^\s\"<>.,;)])")
_OCR_MIN_CHARS = 40  # a page with fewer extracted characters than this is treated as an image of text


@dataclass(frozen=True)
class Line:
    """One visual line of a page: its text, box, dominant font size, boldness and the gaps between its words."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    page: int
    big_gaps: int = 0  # gaps wider than the font size between words (table columns)
    math_share: float = 0.0
    numeric_share: float = 0.0
    column_left: float = 0.0
    column_right: float = 0.0
    # the text cut at gaps of about an em or more: names in an author row set an em apart ('Shuohang Wang  Ruochen
    # Xu  Chenguang Zhu' in G-Eval), narrower than the cell gaps `text` marks with two spaces
    cells: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParseReport:
    """What reading one file found: pages, words, sections, tables, figures, references, OCR and warnings."""

    pages: int = 0
    words: int = 0
    sections: int = 0
    tables: int = 0
    figures: int = 0
    references: int = 0
    equations: int = 0
    footnotes: int = 0
    ocr_pages: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()
    headings: tuple[str, ...] = ()  # the section headings found, in order

    def describe(self) -> str:
        """'15 pages, 6,291 words, 28 sections, 4 tables, 5 figures, 40 references, OCR: none' plus warnings."""
        text = (f"{self.pages} pages, {self.words:,} words, {self.sections} sections, {self.tables} tables, "
                f"{self.figures} figures, {self.references} references, OCR: "
                f"{'pages ' + ', '.join(map(str, self.ocr_pages)) if self.ocr_pages else 'none'}")
        return text + "".join(f"; warning: {w}" for w in self.warnings)

    @classmethod
    def from_dict(cls, data: dict) -> "ParseReport":
        """A report from its stored JSON form (fields a newer version added keep their defaults)."""
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class PdfContent:
    """A PDF read into blocks: header metadata, body blocks, parsed references and the parse report."""

    blocks: list[Block]
    meta: dict
    n_pages: int
    first_text: str
    references: tuple[ReferenceEntry, ...] = ()
    report: ParseReport = field(default_factory=ParseReport)

    def header(self) -> dict:
        """Metadata for the ingest stage: the first page's layout (title, authors, venue) and the arXiv stamp win
        over the PDF's Info fields, which LaTeX often leaves empty or sets to a file name."""
        meta = dict(self.meta)
        if meta.get("layout_title"):
            meta["title"] = meta["layout_title"]
        if meta.get("layout_authors"):
            meta["authors"] = meta["layout_authors"]
        elif meta.get("authors"):
            meta["authors"] = _MARKERS.sub("", str(meta["authors"]))
        if meta.get("layout_venue") and not meta.get("venue"):
            meta["venue"] = meta["layout_venue"]
        if meta.get("arxiv_stamp"):
            meta["arxiv"] = meta["arxiv_stamp"]  # the ingest stage dates an arXiv paper by its id
        elif not meta.get("year"):
            # a scan's CreationDate is the day it was scanned: then the page's own text dates the paper
            venue_year = re.search(r"\b(19|20)\d\d\b", str(meta.get("layout_venue") or ""))
            meta["year"] = meta.get("published_year") or (venue_year.group(0) if venue_year else None) or \
                meta.get("info_year") or (None if meta.get("first_page_ocr") else meta.get("created_year"))
        return meta


# ---------------------------------------------------------------- page text


# TeX's math symbol and extension fonts (OMS and OMX encodings) embedded without a ToUnicode map: pdfminer
# gives their glyphs as '(cid:N)'. The two encodings are fixed by TeX, so a code maps to its symbol; any other
# font's unmapped glyph is dropped rather than left as '(cid:N)' in the text.
_OMS = ("−·×∗÷⋄±∓⊕⊖⊗⊘⊙◯∘•≍≡⊆⊇≤≥⪯⪰∼≈⊂⊃≪≫≺≻←→↑↓↔↗↘≃⇐⇒⇑⇓⇔↖↙∝′∞∈∋△▽\u0338↦∀∃¬∅ℜℑ⊤⊥ℵ"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ∪∩⊎∧∨⊢⊣⌊⌋⌈⌉{}⟨⟩|‖↕⇕\\≀√⨿∇∫⊔⊓⊑⊒§†‡¶♣♢♡♠")
_OMX = ("()[]⌊⌋⌈⌉{}⟨⟩|‖/\\" "()()[]⌊⌋⌈⌉{}⟨⟩/\\" "()[]⌊⌋⌈⌉{}⟨⟩/\\/\\" "()" + "[]" * 3 + "{}" * 4 + "()" * 2
        + "⟨⟩⊔⊔∮∮⊙⊙⊕⊕⊗⊗∑∏∫⋃⋂⊎⋀⋁∑∏∫⋃⋂⊎⋀⋁∐∐^^^~~~[]⌊⌋⌈⌉{}√√√√√")
_GLYPH_ID = re.compile(r"\(cid:(\d+)\)")
_TEX_TEXT_FONT = re.compile(r"^(cm|lm)(r|bx|b|ti|sl|ss|csc|tt|dunh|fib)\d|^(cm|lm)(ssbx|ssi|bxti|bxsl)\d|^lmroman|^lmsans")
# spacing accents that LaTeX sets as a glyph of their own over the letter ('Gre´gory', 'Rockta¨schel')
_SPACING_ACCENTS = {"´": "\u0301", "`": "\u0300", "¨": "\u0308", "ˆ": "\u0302", "˜": "\u0303", "¸": "\u0327",
                    "ˇ": "\u030c", "˚": "\u030a", "¯": "\u0304", "˘": "\u0306", "˙": "\u0307", "˝": "\u030b"}


# A typesetter's renamed TeX math fonts (PLOS ONE's 'TeX_CM_Maths_Symbols', '..._Extension', '..._Italic') keep
# TeX's codes but are read as ASCII letters: 'fL 1 ; . . . ; L N g' is '{L 1 , . . . , L N }'. The symbol font
# also puts '(', ')', '=' and '+' at the codes of 'ð', 'Þ', '¼', 'þ' ('AðtÞ ¼ tanh' is 'A(t) = tanh').
_MATHS_SYMBOLS_EXTRA = {"ð": "(", "Þ": ")", "¼": "=", "þ": "+"}
_MATHS_ITALIC = {";": ",", ":": ".", "=": "/"}  # TeX's math italic (OML) sets punctuation at these codes


def _glyph_text(text: str, fontname: str) -> str:
    """A character's text with TeX math glyph ids ('(cid:80)' in CMEX10) mapped to their symbols ('∑'); a glyph
    id of another font becomes U+FFFD, which counts towards a garbled page and is dropped from its lines."""
    family = fontname.split("+")[-1].lower()
    if text == "↵" and _TEX_TEXT_FONT.match(family):
        # Computer Modern text fonts put the ff ligature at code 11; some TeX setups map that code by the
        # standard encoding's glyph there, a carriage-return arrow ('Geo↵rey' is Geoffrey)
        return "ff"
    renamed = family.startswith("tex_cm_maths_")
    if renamed and family.startswith("tex_cm_maths_italic"):
        return _MATHS_ITALIC.get(text, text)
    table = _OMS if family.startswith(("cmsy", "cmbsy", "lmsy", "tex_cm_maths_symbols")) else _OMX \
        if family.startswith(("cmex", "lmex", "tex_cm_maths_extension")) else ""
    if renamed and table and len(text) == 1:
        return _MATHS_SYMBOLS_EXTRA.get(text) or (table[ord(text)] if ord(text) < len(table) else text)
    if "(cid:" not in text:
        return text
    return _GLYPH_ID.sub(lambda m: table[int(m.group(1))] if int(m.group(1)) < len(table) else "\ufffd", text)


def _word_text(chars: list[dict]) -> str:
    """A word's text from its characters: glyph ids decoded, a spacing accent put on the letter under it."""
    texts = [_glyph_text(c["text"], c.get("fontname", "")) for c in chars]
    for i, c in enumerate(chars):
        mark = _SPACING_ACCENTS.get(texts[i])
        if not mark or len(chars) < 2:
            continue
        middle = (c["x0"] + c["x1"]) / 2
        under = [j for j, o in enumerate(chars) if j != i and texts[j].isalpha() and o["x0"] - 1 <= middle <= o["x1"] + 1]
        if under:
            j = min(under, key=lambda k: abs((chars[k]["x0"] + chars[k]["x1"]) / 2 - middle))
            texts[j] = unicodedata.normalize("NFC", texts[j] + mark)
            texts[i] = ""
    # ligature glyphs come apart here, before the footnote marks after a name are told from its letters
    # ('Morﬁ1' is Morfi with mark 1)
    return unfold_ligatures("".join(texts)).replace("\u0338=", "≠").replace("\u0338∈", "∉").replace("\u0338", "/")


def _is_bold(font: str) -> bool:
    return bool(_BOLD_FONT.search(font.split("+")[-1]))


def _words(page) -> list[dict]:
    """The page's words, each with its largest character size and its commonest font (small capitals stay
    one word: 'FitNets' set as 'F' + 'IT' in two sizes)."""
    # Words follow the content stream: grouping characters into lines by position first chains lines together
    # through the sub- and superscripts between them, and two lines' letters interleave ('w h e r e').
    words = page.extract_words(x_tolerance_ratio=0.15, use_text_flow=True, return_chars=True)
    merged: list[dict] = []
    for word in words:  # 'Gr´' + 'egory': a word that starts inside the one before on its line continues it
        last = merged[-1] if merged else None
        if last and last["x0"] < word["x0"] < last["x1"] - 0.5 and abs(word["top"] - last["top"]) < 0.5 * (
                word["bottom"] - word["top"]):
            merged[-1] = {**last, "text": last["text"] + word["text"], "x1": max(last["x1"], word["x1"]),
                          "top": min(last["top"], word["top"]), "bottom": max(last["bottom"], word["bottom"]),
                          "chars": last["chars"] + word["chars"]}
        else:
            merged.append(word)
    words = merged
    accents = [w for w in words if w["text"] in _SPACING_ACCENTS]
    for accent in accents:  # an accent drawn apart from its letter ('Gre' + '´' + 'gory') joins that word
        middle = (accent["x0"] + accent["x1"]) / 2
        host = next((w for w in words if w is not accent and w["x0"] <= middle <= w["x1"]
                     and w["top"] - accent["bottom"] < 0.5 * (w["bottom"] - w["top"]) and w["bottom"] > accent["top"]),
                    None)
        if host is not None:
            host["chars"] = host["chars"] + accent["chars"]
            words.remove(accent)
    for word in words:
        chars = word.pop("chars")
        letters = [c["text"] for c in chars if c["text"].isalpha()]
        if letters and sum(unicodedata.bidirectional(t[0]) in ("R", "AL") for t in letters) > len(letters) / 2:
            # right-to-left script comes out in visual order: each glyph's text kept whole (a lam-alef
            # ligature maps to two letters in reading order), the glyphs put back in reading order
            word["text"], word["rtl"] = "".join(c["text"] for c in reversed(chars)), True
        else:
            word["text"] = _word_text(chars)
        word["size"] = max(c["size"] for c in chars)
        word["fontname"] = Counter(c["fontname"] for c in chars).most_common(1)[0][0]
    return words


def _rows(words: list[dict]) -> list[list[dict]]:
    """Words grouped into visual rows (a superscript joins the row it sits on), each sorted left to right."""
    rows: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["bottom"]), w["x0"])):
        # the row the word overlaps most, not the first it touches: a heading's first word set below a row of
        # equation accents ('3 INITIALIZATION' under CMEX hats) belongs with the rest of the heading
        best, best_share = None, 0.45
        for row in rows[-4:]:
            ref = max(row, key=lambda w: w["size"])
            overlap = min(ref["bottom"], word["bottom"]) - max(ref["top"], word["top"])
            share = overlap / max(0.01, min(ref["bottom"] - ref["top"], word["bottom"] - word["top"]))
            if share > best_share:
                best, best_share = row, share
        if best is not None:
            best.append(word)
        else:
            rows.append([word])
    return [sorted(row, key=lambda w: w["x0"]) for row in sorted(rows, key=lambda r: min(w["top"] for w in r))]


def _line(words: list[dict], page: int, left: float, right: float) -> Line:
    chars = sum(len(w["text"]) for w in words)
    size_weight: Counter[float] = Counter()
    bold = math = numeric = 0
    for w in words:
        size_weight[round(w["size"], 1)] += len(w["text"])
        if _is_bold(w["fontname"]):
            bold += len(w["text"])
        if _MATH_FONT.search(w["fontname"].split("+")[-1]):
            math += len(w["text"])
        if _NUMBER_TOKEN.match(w["text"]):
            numeric += 1
    size = size_weight.most_common(1)[0][0]
    gaps = [b["x0"] - a["x1"] for a, b in zip(words, words[1:])]
    # A gap wider than the font size separates cells (author grid, table columns): kept as two spaces.
    text = "".join(w["text"] + ("  " if g > 1.2 * size else " ") for w, g in zip(words, gaps + [0]))
    text = text.replace("\ufffd", "").strip()
    if sum(w.get("rtl", False) for w in words) > len(words) / 2:  # Arabic, Hebrew: words read right to left
        text = " ".join(w["text"] for w in reversed(words))
    cells, cell = [], []
    for w, g in zip(words, gaps + [0]):
        cell.append(w["text"])
        if g > 0.8 * size:
            cells.append(" ".join(cell).replace("\ufffd", "").strip())
            cell = []
    cells.append(" ".join(cell).replace("\ufffd", "").strip())
    return Line(text=text, x0=words[0]["x0"], x1=max(w["x1"] for w in words), top=min(w["top"] for w in words),
                bottom=max(w["bottom"] for w in words), size=size, bold=bold >= 0.8 * chars, page=page,
                big_gaps=sum(g > 1.2 * size for g in gaps), math_share=math / max(1, chars),
                numeric_share=numeric / len(words), column_left=left, column_right=right,
                cells=tuple(c for c in cells if c))


def _gutter(rows: list[list[dict]], width: float) -> float | None:
    """The x of a two-column page's gutter (a vertical strip most text rows leave empty), or None."""
    wide = [row for row in rows if len(row) >= 3]
    if len(wide) < 8:
        return None
    best_x, best_cover = None, len(wide)
    for x in range(int(width * 0.38), int(width * 0.62) + 1):
        cover = sum(any(w["x0"] - 1 <= x <= w["x1"] + 1 for w in row) for row in wide)
        if cover < best_cover:
            best_x, best_cover = x, cover
    if best_x is None or best_cover > 0.3 * len(wide):  # full-width tables and figures cover it too
        return _gutter_beside_a_float(wide, width)
    left = sum(any(w["x1"] < best_x for w in row) for row in wide)
    right = sum(any(w["x0"] > best_x for w in row) for row in wide)
    if left >= 0.3 * len(wide) and right >= 0.3 * len(wide):
        return float(best_x)
    # a column that ends high on the page (the last entries of a reference list, API-Bank p. 11: 8 rows of 48)
    # beside a full one: no row crosses the strip, and the rows that reach past it are prose split there
    split = sum(_split_by_gap(row, best_x) for row in wide)
    return float(best_x) if best_cover == 0 and split >= 4 and left >= 0.3 * len(wide) else None


def _margin_gutter(rows: list[list[dict]], width: float) -> float | None:
    """The x between a journal's margin column and its body on page 1 (PLOS ONE sets the citation, dates,
    copyright and funding in a column a third of the page wide beside the abstract), or None: a strip at 0.25
    to 0.38 of the width that at most 5% of the text rows cross, with text on each side in 30% of them."""
    wide = [row for row in rows if len(row) >= 3]
    if len(wide) < 8:
        return None
    cover, x = min((sum(any(w["x0"] - 1 <= x <= w["x1"] + 1 for w in row) for row in wide), x)
                   for x in range(int(width * 0.25), int(width * 0.38) + 1))
    if cover <= 0.05 * len(wide) and sum(any(w["x1"] < x for w in row) for row in wide) >= 0.3 * len(wide) \
            and sum(any(w["x0"] > x for w in row) for row in wide) >= 0.3 * len(wide):
        return float(x)
    return None


def _split_by_gap(row: list[dict], x: int) -> bool:
    """True for a row of two lines of prose side by side: its one gap a font size wide runs through x, with at
    least three words of text on each side (a table row has several wide gaps, or figures in its cells)."""
    wide_gaps = [(a, b) for a, b in zip(row, row[1:]) if b["x0"] - a["x1"] >= 0.8 * max(a["size"], b["size"])]
    if len(wide_gaps) != 1 or not wide_gaps[0][0]["x1"] < x < wide_gaps[0][1]["x0"]:
        return False
    sides = [w for w in row if w["x1"] < x], [w for w in row if w["x0"] > x]
    return all(len(side) >= 3 and sum(bool(_NUMBER_TOKEN.match(w["text"])) for w in side) < 0.3 * len(side)
               for side in sides)


def _gutter_beside_a_float(wide: list[list[dict]], width: float) -> float | None:
    """The gutter of a two-column page on which a full-width table or figure covers more than 30% of the rows:
    an x that no word covers for at least 8 consecutive rows, at least 6 of them two lines of prose split there
    by a gap a font size wide (a line of one column alone leaves it free too), or None. One-column prose and
    the tables set in it do not have 6 such rows among 8 that leave one place free."""
    best_x, best_run = None, 0
    for x in range(int(width * 0.38), int(width * 0.62) + 1):
        run = split = longest = 0
        for row in wide:
            if any(w["x0"] - 1 <= x <= w["x1"] + 1 for w in row):
                run = split = 0
                continue
            run, split = run + 1, split + _split_by_gap(row, x)
            if split >= 6:
                longest = max(longest, run)
        if longest > best_run:
            best_x, best_run = x, longest
    return float(best_x) if best_x is not None and best_run >= 8 else None


def _page_lines(words: list[dict], width: float, page: int) -> list[Line]:
    """A page's lines in reading order: full-width rows in place, two-column stretches left column first."""
    rows = _rows(words)
    gutter = _gutter(rows, width)
    if gutter is None and page == 1:
        gutter = _margin_gutter(rows, width)
    if gutter is None:
        left = min((w["x0"] for w in words), default=0.0)
        right = max((w["x1"] for w in words), default=width)
        return [_line(row, page, left, right) for row in rows]
    lines: list[Line] = []
    pending: list[list[dict]] = []

    def flush() -> None:
        # each word to the side its middle is on: one that ends a hair past the gutter stays with its column
        halves = ([w for w in row if w["x0"] + w["x1"] < 2 * gutter] for row in pending), \
                 ([w for w in row if w["x0"] + w["x1"] >= 2 * gutter] for row in pending)
        for half in halves:
            # rows were grouped across the page; a column's lines are grouped again within the column, since two
            # columns' line pitches differ (API-Bank's 10 pt references beside 10.9 pt text: one body line
            # overlaps two reference lines, which were read as one, their words interleaved)
            parts = [sub for part in half if part for sub in _rows(part)]
            if parts:
                left = min(p[0]["x0"] for p in parts)
                right = max(p[-1]["x1"] for p in parts)
                lines.extend(_line(part, page, left, right) for part in parts)
        pending.clear()

    def spans(row: list[dict]) -> bool:
        # a word that crosses the gutter, not one that ends a hair before it (Dense X's 'popu-' ends 0.1 pt left
        # of it, beside the heading '6 Results: Open-Domain QA' in the right column: one line, heading lost)
        if any(w["x0"] + 1 < gutter < w["x1"] - 1 for w in row):
            return True
        left = [w for w in row if w["x0"] + w["x1"] < 2 * gutter]
        right = [w for w in row if w["x0"] + w["x1"] >= 2 * gutter]
        # a centred title's word space at the gutter is narrower than a column gap; an outdented reference label
        # ('[Andreas et al.2016]') can come as close to the left column, but is set in another size
        return bool(left and right) and right[0]["x0"] - left[-1]["x1"] < 0.9 * max(w["size"] for w in row) \
            and abs(max(w["size"] for w in left) - max(w["size"] for w in right)) < 0.3

    for row in rows:
        if spans(row):
            flush()
            lines.append(_line(row, page, row[0]["x0"], row[-1]["x1"]))
        else:
            pending.append(row)
    flush()
    return lines


def _plain_lines(text: str, page: int) -> list[Line]:
    """Lines of text from an extractor without layout (pypdf, OCR), all in one nominal font."""
    return [Line(text=line.strip(), x0=0, x1=500, top=i * 12.0, bottom=i * 12.0 + 10, size=10.0, bold=False,
                 page=page, column_left=0, column_right=500)
            for i, line in enumerate(clean_text(text).split("\n")) if line.strip()]


def _garbled(text: str) -> bool:
    """True when pdfminer left glyph ids ('(cid:12)') or replacement characters instead of text."""
    bad = len(re.findall(r"\(cid:\d+\)", text)) * 6 + text.count("\ufffd")
    return bad > 0.2 * max(1, len(text))


def _ocr_page(pdf_bytes: bytes, index: int) -> str | None:
    """The page's text by Tesseract OCR (rendered with pypdfium2), or None when Tesseract is not installed."""
    try:
        import pypdfium2
        import pytesseract
    except ImportError:
        return None
    try:
        pytesseract.get_tesseract_version()
    except (pytesseract.TesseractNotFoundError, OSError):
        return None
    document = pypdfium2.PdfDocument(pdf_bytes)
    try:
        image = document[index].render(scale=300 / 72).to_pil()
    finally:
        document.close()
    return pytesseract.image_to_string(image)


OCR_HINT = ("Install OCR to read scanned pages: `apt-get install tesseract-ocr` and `pip install pytesseract` "
            "(scripts/setup.sh does both where it can).")


# ---------------------------------------------------------------- structure


def _edge_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def _running_lines(pages: list[list[Line]], heights: list[float]) -> set[tuple[int, int]]:
    """(page, line index) of running headers, footers and page numbers: repeated or numeric lines at a page edge."""
    edge: dict[tuple[int, int], str] = {}
    counts: Counter[str] = Counter()
    body = _body_size([line for lines in pages for line in lines])
    for p, (lines, height) in enumerate(zip(pages, heights)):
        keys = set()
        for i, line in enumerate(lines):
            if p == 0 and line.size >= body * 1.15:
                continue  # the title on page 1, even when later pages repeat it as their running head
            near = line.top < 0.09 * height or line.bottom > 0.91 * height or i < 1 or i >= len(lines) - 1
            if near:
                edge[(p, i)] = _edge_key(line.text)
                keys.add(edge[(p, i)])
        counts.update(keys)
    threshold = max(3, len(pages) // 3)  # odd and even pages often carry different running heads
    drop = set()
    for (p, i), key in edge.items():
        if (len(pages) >= 3 and counts[key] >= threshold) or _PAGE_NUMBER.match(pages[p][i].text.strip()):
            drop.add((p, i))
    return drop


def _body_size(lines: list[Line]) -> float:
    weights: Counter[float] = Counter()
    for line in lines:
        weights[round(line.size * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 10.0


def _heading_level(text: str) -> int:
    match = re.match(r"^(\d+(?:\.\d+)*)\.?\s", text)
    if match:
        return 1 + match.group(1).count(".")
    return 2 if re.match(r"^[A-H]\.\d", text) else 1


def _is_table_row(line: Line, body: float) -> bool:
    if line.big_gaps >= 2:  # prose never has two gaps wider than its font size
        return True
    if line.numeric_share >= 0.6 and len(line.text.split()) >= 4:  # a tight row of figures
        return True
    return line.big_gaps >= 1 and line.numeric_share >= 0.5 and len(line.text.split()) >= 2


def _paragraph_break(prev: Line, line: Line) -> bool:
    """True when `line` starts a new paragraph after `prev` (vertical gap, indent, or a short closing line)."""
    if line.page != prev.page or line.column_left != prev.column_left or line.top < prev.top:
        # a sentence running on into the next column or page continues its paragraph
        return prev.text.rstrip()[-1:] in ".!?:" or not line.text[:1].islower()
    if line.top - prev.bottom > 0.75 * line.size:
        return True
    indented = line.x0 > line.column_left + 0.8 * line.size and prev.x0 <= line.column_left + 0.5 * line.size
    short = prev.x1 < prev.column_right - 2.5 * line.size
    return (indented or short) and prev.text.rstrip()[-1:] in ".!?:"


@dataclass
class _Reader:
    """Turns a document's lines (in reading order) into blocks, front matter, references and counts."""

    body_size: float
    font_headings: bool
    author_names: tuple[str, ...] = ()  # found in the header: a page-1 footnote about them is header matter
    blocks: list[Block] = field(default_factory=list)
    reference_lines: list[Line] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    labels: set = field(default_factory=set)  # "Table 1", "Figure 2": the tables and figures found
    in_references: bool = False
    references_level: int = 1
    _para: list[Line] = field(default_factory=list)
    _kind: str = "para"
    _label: str = ""
    _heading_line: Line | None = None  # the heading just read, which the next line may continue
    _section_number: int | None = None  # the number of the last numbered top-level section read

    def flush(self) -> None:
        if not self._para:
            return
        text = clean_text("\n".join(line.text for line in self._para)).replace("\n", " ")
        page = self._para[0].page
        if self._kind == "table":
            rows = "\n".join(" | ".join(re.split(r"\s{2,}", line.text)) for line in self._para)
            numeric = sum(line.numeric_share for line in self._para) / len(self._para)
            # cells without a 'Table N' caption and with few figures are the labels inside a diagram
            kind = "table" if self._label or numeric >= 0.3 else "figure"
            self.blocks.append(Block(kind, clean_text(rows), page, label=self._label))
            self.labels.add(self._label)
        elif self._kind == "caption":
            self.blocks.append(Block("caption", text, page, label=self._label))
            self.labels.add(self._label)
        elif self._kind == "footnote":
            if page == 1 and (_EMAIL.search(text) or _COPYRIGHT.match(text)
                              or re.search(r"equal contribution|correspond|work (was )?done", text, re.IGNORECASE)
                              or any(name in text for name in self.author_names)):
                self.counts["front_notes"] += 1  # affiliations and contacts: header metadata, not evidence
            else:
                self.blocks.append(Block("footnote", text, page))
                self.counts["footnotes"] += 1
        elif self._kind == "equation":
            self.blocks.append(Block("equation", text, page))
            self.counts["equations"] += 1
        else:
            self.blocks.append(Block("para", text, page))
        self._para = []
        self._kind = "para"
        self._label = ""

    def _continues_heading(self, heading: Line, line: Line) -> bool:
        """True for the second line of a heading: right below it, short, in its style, not a heading itself."""
        text = line.text.strip()
        same_style = (heading.bold and line.bold) or (heading.text.upper() == heading.text and text.upper() == text
                                                       and re.search(r"[A-Z]{3}", text))
        return bool(same_style and line.page == heading.page and 0 <= line.top - heading.bottom < 0.6 * line.size
                    and len(text.split()) <= 8 and not text.endswith(".") and not looks_like_heading(text)
                    and line.big_gaps == 0 and abs(line.x0 - heading.x0) < 40 * line.size)

    def heading(self, line: Line) -> bool:
        text = line.text.strip()
        # a question ('5. Why does it work? Some speculation') or 'vs.' ('4 QLoRA vs. Standard Finetuning') is
        # no sentence's end inside a heading
        shape = re.sub(r"\?(?=\s|$)|(?<=\bvs)\.", "", text)
        # a supplement's title in the title's size ends the reference list however long it is ('Supplementary
        # material for the paper “Unsupervised Label Noise Modeling and Loss Correction”', read as two entries)
        supplement = self.in_references and AFTER_REFERENCES.match(text) and line.size >= self.body_size * 1.15
        if (not looks_like_heading(shape) or text.endswith(".") and not re.match(r"^\d+\.?\s*$", text)) \
                and not supplement:
            if not (self.font_headings and line.size >= self.body_size * 1.15 and len(text.split()) <= 8
                    and text[:1].isupper() and not text.endswith((".", ",")) and line.big_gaps == 0):
                return False
        small_caps = text.upper() == text and re.search(r"[A-Z]{3}", text)
        if self.font_headings and not (line.bold or line.size >= self.body_size * 1.08 or small_caps):
            return False
        # a numbered list item in prose ('1. We present the ConvNet architecture for predominant') fills its
        # justified column like the lines after it; a heading in the body's weight and case never does
        if not (line.bold or small_caps) and len(text.split()) >= 5 and line.x1 >= line.column_right - 2 \
                and line.size < self.body_size * 1.15:
            return False
        # a heading is never set much smaller than the body: a line that is, is a figure's legend ('6  SGD')
        small = self.font_headings and line.size < 0.75 * self.body_size  # small capitals run ~0.8
        return not (line.numeric_share > 0.5 or line.big_gaps >= 2 or small) and self._in_sequence(text)

    def _in_sequence(self, text: str) -> bool:
        """False for a numbered line that cannot be the next heading: the numbers on a figure's axes and legends
        ('180 LSTM', '5.5 MOMENTUM' after section 4) jump where a paper's sections count up."""
        match = re.match(r"^(\d+)((?:\.\d+)*)\.?\s", text)
        if not match:
            return True
        top, subs = int(match.group(1)), [int(n) for n in match.group(2).split(".")[1:]]
        last = self._section_number
        if last is None:
            return top <= 3
        if top == last:
            return True
        # a new section opens with its own heading or its first subsection; one missed heading is tolerated
        return last < top <= last + 2 and all(n <= 1 for n in subs)

    def add(self, line: Line, height: float) -> None:
        cells = re.split(r"\s{2,}", line.text.strip())
        if len(cells) > 1 and len(cells[0]) > 3 and all(len(cell) <= 2 for cell in cells[1:]):
            # stray accents of an equation set on the same row ('3 INITIALIZATION  b  b')
            line = replace(line, text=cells[0], big_gaps=0)
        if re.fullmatch(r"[^a-z]{4,}( [a-z])+", line.text.strip()):
            line = replace(line, text=re.sub(r"( [a-z])+$", "", line.text.strip()))
        text = line.text.strip()
        last = self._heading_line
        if last and self.blocks and self.blocks[-1].kind == "heading" and self._continues_heading(last, line):
            # a heading set on two lines, perhaps hyphenated at the break ('... for au-' + 'dio spectrograms')
            merged = clean_text(f"{self.blocks[-1].text}\n{' '.join(text.split())}").replace("\n", " ")
            self.blocks[-1] = replace(self.blocks[-1], text=merged)
            self._heading_line = line
            return
        self._heading_line = None
        if self.heading(line):
            text = " ".join(text.split())
            self._heading_line = line
            self.flush()
            level = _heading_level(text)
            number = re.match(r"^(\d+)[.\s]", text)
            if number:
                self._section_number = int(number.group(1))
            if REFERENCES_HEADING.match(text):
                self.in_references, self.references_level = True, level
            elif self.in_references and (level <= self.references_level or AFTER_REFERENCES.match(text)):
                self.in_references = False
            if not self.in_references:  # the parsed entries get their own References heading at the end
                self.blocks.append(Block("heading", text, line.page, level=level))
                self.counts["sections"] += 1
            return
        caption = _CAPTION.match(text)
        if self.in_references:
            # a table or figure floated onto a page of the reference list is read as itself, then the list resumes
            # (a loosely justified entry has wide gaps too; a CVF copy's entry ends in the pages citing it:
            # 'segmentation. In CVPR, 2014. 1, 3, 4, 8')
            table_row = _is_table_row(line, self.body_size) and not _REFERENCE_START.match(text) and (
                line.numeric_share >= 0.3 or line.big_gaps >= 3) and not _BACK_REFERENCES.search(text)
            floating = table_row or self._kind in ("caption", "table") and self._para \
                and not _paragraph_break(self._para[-1], line)
            if not caption and not floating:
                self.flush()
                self.reference_lines.append(line)
                return
        if caption:
            self.flush()
            last = self.blocks[-1] if self.blocks else None
            number = caption.group(2)
            if last and last.kind in ("table", "figure") and not last.label:
                kind = "table" if caption.group(1).lower() == "table" else "figure"
                self.blocks[-1] = replace(last, kind=kind, label=f"{kind.title()} {number}")
                self.labels.add(self.blocks[-1].label)
            self._kind = "caption"
            self._label = f"{'Figure' if caption.group(1).lower().startswith('fig') else 'Table'} {caption.group(2)}"
            self._para.append(line)
            return
        if line.math_share >= 0.4 and len(text.split()) <= 25 and line.numeric_share < 0.4:
            if self._kind != "equation":
                self.flush()
                self._kind = "equation"
            self._para.append(line)
            return
        # a table of two text columns ('Task  Datasets' in GPT-1's Table 1) has one wide gap per row: below a
        # 'Table N' caption, and set smaller than the body, such a row is the table's, not prose
        two_cells = line.big_gaps == 1 and line.size < 0.95 * self.body_size and (
            self._kind == "table" or self._kind == "caption" and self._label.startswith("Table"))
        if _is_table_row(line, self.body_size) or two_cells:
            if self._kind != "table":
                label = self._label if self._kind == "caption" and self._label.startswith("Table") else ""
                self.flush()
                self._kind, self._label = "table", label
            self._para.append(line)
            return
        small = line.size <= self.body_size * 0.9
        # 'Correspondence to: ... <a@b.org>', '© 2014 the authors': contacts and rights, no evidence
        contact = line.page == 1 and (_EMAIL.search(text) or _COPYRIGHT.match(text))
        if contact or small and line.top > 0.72 * height and self._kind in ("para", "footnote") and (
                self._kind == "footnote" or _FOOTNOTE_MARK.match(text)):
            if self._kind != "footnote":
                self.flush()
                self._kind = "footnote"
            self._para.append(line)
            return
        if self._kind == "table" and self._para and line.top - self._para[-1].bottom < 0.6 * line.size \
                and len(text.split()) <= 4:
            self._para.append(line)  # a table row whose cells are one word each
            return
        if self._kind == "caption" and self._para and not _paragraph_break(self._para[-1], line):
            self._para.append(line)
            return
        if self._kind != "para" or (self._para and _paragraph_break(self._para[-1], line)):
            self.flush()
        self._para.append(line)


def _diagram_text(block: Block) -> bool:
    """True for a paragraph that is a diagram's labels, not prose: mostly one- and two-character tokens and
    numbers ('x 5 x 6 [E] x 3 [E] [M] x 1 x 2 [M] x 4', GLM's token diagram, whose glyphs share rows with the
    body beside it), where prose has words and a table's figures come in rows. A formula has few words too, but
    relations and operators ('u t = max(...)', 'W ← {W S 1 ...}'): it stays where it was."""
    tokens = block.text.split()
    if block.kind != "para" or len(tokens) < 12 or re.search(r"[=≤≥<>←→∈∝⊙∑∏|]", block.text):
        return False
    words = sum(bool(re.search(r"[A-Za-z]{3,}", t)) for t in tokens)
    numbers = sum(bool(_NUMBER_TOKEN.match(t)) for t in tokens)
    return words < 0.25 * len(tokens) and numbers >= 0.2 * len(tokens)


def _figure_text_runs(blocks: list[Block]) -> list[Block]:
    """The blocks with each run of five or more tiny paragraphs on one page (a chart's axis labels and legend:
    'System', 'Precision 90', '80', '70', ...), or of three or more that hold only numbers (tick labels: '20 15
    25', '10 15 20'), made one 'figure' block, and each paragraph of diagram labels made a 'figure' block: none
    is prose. An unlabelled figure block on a page with one 'Figure N' caption takes that label."""
    def tiny(block: Block) -> bool:
        return block.kind == "para" and len(block.text.split()) <= 3 and not block.text.rstrip().endswith((".", ":"))

    def ticks(block: Block) -> bool:
        tokens = block.text.split()
        return block.kind == "para" and 0 < len(tokens) <= 12 and all(_NUMBER_TOKEN.match(t) for t in tokens)

    out: list[Block] = []
    i = 0
    while i < len(blocks):
        j = i
        while j < len(blocks) and tiny(blocks[j]) and blocks[j].page == blocks[i].page:
            j += 1
        k = i
        while k < len(blocks) and ticks(blocks[k]) and blocks[k].page == blocks[i].page:
            k += 1
        j = max(j, k)
        if j - i >= 5 or k - i >= 3:
            out.append(Block("figure", "\n".join(b.text for b in blocks[i:j]), blocks[i].page))
            i = j
        else:
            out.append(replace(blocks[i], kind="figure") if _diagram_text(blocks[i]) else blocks[i])
            i += 1
    figure_captions: dict[int, set[str]] = {}
    for block in out:
        if block.kind == "caption" and block.label.startswith("Figure"):
            figure_captions.setdefault(block.page, set()).add(block.label)
    return [replace(b, label=next(iter(figure_captions[b.page])))
            if b.kind == "figure" and not b.label and len(figure_captions.get(b.page, ())) == 1 else b for b in out]


_ROW_MARK = re.compile(r"\brow \d+ :")
# A footnote's first character: its number or mark ('⇤' is an asterisk some fonts map wrong: Adadelta's '⇤This work
# was done while Matthew D. Zeiler was an intern', left in the body beside the introduction)
_FOOTNOTE_MARK = re.compile(r"^[\d∗*†‡§¶⇤]")
_COUNT_TOKEN = re.compile(r"^\d+(?:\.\d+)?[kKMB]$")  # '280k', '1.4M': sizes in a table's cells
_SENTENCE_STOP = re.compile(r"[a-z)\]][.!?](?:\s|$)")  # a sentence's end: prose says something


def _data_label(block: Block) -> str:
    """'Table (serialised as text)' for a paragraph that prints a table as text, '|'-separated cells with 'row N
    :' lines (Chain-of-Table's prompts: '/* col : Name | League | ... row 1 : Scot Bennett | 5 | 0 ...'), 'List
    of numbers' for a long list of bare figures ('TIES -> [1.6, 1.7, 1.7, 1.2, ...]'), else '': neither is prose
    a writer could quote as a sentence."""
    if block.kind != "para":
        return ""
    tokens = block.text.split()
    pipes = sum(token == "|" for token in tokens)
    if pipes >= 6 and (len(_ROW_MARK.findall(block.text)) >= 2 or pipes >= 0.08 * len(tokens)):
        return "Table (serialised as text)"
    bare = [token.strip("[](){},;:") for token in tokens]
    numbers = sum(bool(_NUMBER_TOKEN.match(token)) for token in bare if token)
    if numbers >= 12 and numbers >= 0.5 * len(tokens):
        return "List of numbers"
    # Rows of a table with no ruling, caption or column gaps the layout could see, run together as one paragraph
    # ('LSTMN shallow fusion 100 280k 84.3 LSTMN deep fusion 100 330k 84.5 ...', 1601.06733): a third of it
    # figures, with no sentence in it
    counts = sum(bool(_COUNT_TOKEN.match(token)) for token in tokens)
    if numbers + counts >= 12 and numbers + counts >= 0.3 * len(tokens) and not _SENTENCE_STOP.search(block.text):
        return "Table (serialised as text)"
    return ""


def _data_blocks(blocks: list[Block]) -> list[Block]:
    """The blocks with each paragraph that holds a table printed as text or a list of numbers made a labelled
    'table' block, retrievable as what it is."""
    out = []
    for block in blocks:
        label = _data_label(block)
        out.append(replace(block, kind="table", label=label) if label else block)
    return out


# ---------------------------------------------------------------- header (title, authors)


_LOOSE_MARKS = re.compile(rf"(?:\s+(?:[+⇤{_MARK_CHARS}{_GREEK_MARKS}]+|\d{{1,2}}(?:,\d{{1,2}})*))+(?=\s|$)")


def _split_cells(text: str) -> list[str]:
    """An author line cut at separators and at footnote marks set apart ('Alec Radford * 1 Jeffrey Wu * 1')."""
    text = _ATTACHED_MARKS.sub(" ; ", _LOOSE_MARKS.sub(" ; ", text))
    return [cell for cell in re.split(r"\s*(?:,|;|·|\band\b|&)\s*", text) if cell.strip()]


def _names_in(text: str) -> list[str]:
    """Person names in one cell of an author block ('Ashish Vaswani∗', 'and Kristina Toutanova')."""
    text = _MARKERS.sub(" ", text).strip(" ,;")
    if not text or _AFFILIATION.search(text) or re.search(r"\d", text):
        return []
    tokens = text.split()
    if len(tokens) < 2:
        return []
    if all(_NAME_TOKEN.match(t) for t in tokens) and any(len(t.rstrip(".")) > 1 for t in tokens):
        if len(tokens) <= 4:
            return [" ".join(tokens)]
        if len(tokens) % 2 == 0:  # names set with single spaces in one row: pair the words up
            pairs = [" ".join(tokens[i:i + 2]) for i in range(0, len(tokens), 2)]
            # the same pair twice ('Mountain View Mountain View' from OCR) is an affiliation under each name
            return pairs if len(set(pairs)) == len(pairs) else []
    return []


def _rejoin_capitals(text: str) -> str:
    """Capitals hyphenated at a line break joined as lower case would be ('LARGE LAN-' + 'GUAGE MODELS' ->
    'LANGUAGE'; 'TASK-' + 'SPECIFIC' keeps its hyphen): clean_text rejoins only a lower-case second part."""
    def join(match: re.Match) -> str:
        probe = clean_text(f"{match.group(1).lower()}-\n{match.group(2).lower()}")
        return match.group(1) + match.group(2) if "-" not in probe else f"{match.group(1)}-{match.group(2)}"

    return re.sub(r"\b([A-Z]{2,})-[ \t]*\n[ \t]*([A-Z]{2,})\b", join, text)


def _header_lines_first(lines: list[Line]) -> list[Line]:
    """Page 1's lines with the header's other columns moved before the Abstract heading: author blocks set side
    by side (ICASSP) are read column by column, so the right one would follow the left column's body."""
    at = next((i for i, line in enumerate(lines) if re.match(r"^abstract\b", line.text.strip(), re.IGNORECASE)),
              None)
    if at is None:
        return lines
    abstract = lines[at]
    above = [line for line in lines[at + 1:] if line.bottom < abstract.top - 1
             and line.column_left != abstract.column_left and line.x0 >= abstract.column_right]
    if not above:
        return lines
    moved = {id(line) for line in above}
    return lines[:at] + above + [line for line in lines[at:] if id(line) not in moved]


def _header(first_lines: list[Line], body_size: float, height: float) -> tuple[str, list[str], int]:
    """(title, authors, index of the first body line) from page 1's lines before its first section."""
    # the header ends at the Abstract, else at the first numbered section heading, else nothing is header
    texts = [line.text.strip() for line in first_lines]
    stop = next((i for i, text in enumerate(texts) if re.match(r"^abstract\b", text, re.IGNORECASE)), None)
    if stop is None:
        stop = next((i for i, text in enumerate(texts) if looks_like_heading(text)
                     and re.match(r"^(\d{1,2}\.?|[IVX]{1,4}\.)\s", text)), 0)
    front = first_lines[:stop]
    top = [line for line in front if line.top < 0.5 * height and not _STAMP_LIKE.search(line.text)]
    if not top:
        return "", [], stop
    biggest = max(line.size for line in top)
    title_lines: list[Line] = []
    if biggest >= body_size * 1.15:
        for line in front:
            # the title's lines share its size, weight and case: a bold capitalised title over an author list
            # set in the same size ends where the regular, mixed-case names begin
            # (a mixed-case subtitle under a capitalised first line holds no names: 'SUPER-NATURALINSTRUCTIONS:' +
            # 'Generalization via Declarative Instructions on 1600+ NLP Tasks')
            same_style = not title_lines or (line.bold == title_lines[0].bold and (
                (line.text.upper() == line.text) == (title_lines[0].text.upper() == title_lines[0].text)
                or not any(_names_in(part) for part in _split_cells(line.text))))
            if abs(line.size - biggest) <= 0.6 and same_style and (not title_lines or line.top - title_lines[-1].bottom
                                                                   < 1.2 * line.size):
                title_lines.append(line)
            elif title_lines:
                break
    elif all(line.size == top[0].size for line in top):  # OCR or plain text: no fonts to go by
        title_lines = [next((line for line in top if 3 <= len(line.text.split()) <= 25), top[0])]
    title = clean_text(_rejoin_capitals("\n".join(line.text for line in title_lines))).replace("\n", " ").strip()
    after = front[front.index(title_lines[-1]) + 1:] if title_lines else front
    authors: list[str] = []
    # a cell repeated under several names ('Google Inc.', 'Mountain View') is an affiliation, not a person
    def line_cells(line: Line) -> list[str]:
        return list(line.cells) if line.cells else re.split(r"\s{2,}", line.text)

    def names_on(other: Line) -> list[str]:
        return [name for cell in line_cells(other) for part in _split_cells(cell) for name in _names_in(part)]

    cells = Counter(cell.strip() for line in after for cell in line_cells(line))
    for i, line in enumerate(after):
        if line.size < body_size * 0.75:
            continue
        # a unit's name on its own line between an author row and its institution ('MICS Thrust' over 'The Hong
        # Kong University of Science and Technology') reads like one more name: it is the affiliation's first line
        # (a unit's name holds an acronym; a last author alone on a line under the row of names has none, and often
        # a mark or an e-mail below: 'Illia Polosukhin∗ ‡', QLoRA's 'Luke Zettlemoyer' over 'University of Washington')
        below = after[i + 1] if i + 1 < len(after) else None
        if i > 0 and len(names_on(after[i - 1])) >= 2 and len(names_on(line)) == 1 and below is not None \
                and _AFFILIATION.search(below.text) and not _EMAIL.search(below.text) and not names_on(below) \
                and not re.search(rf"[\d{_MARK_CHARS}]", line.text) and re.search(r"\b[A-Z]{2,}\b", line.text) \
                and not line.text.isupper():
            continue
        for cell in line_cells(line):
            parts = _split_cells(cell)
            # a cell repeated under several names, or one that starts with an institution ('Google, Inc., New
            # York, NY'), is an affiliation: the places after the institution are no people
            if cells[cell.strip()] > 1 or parts and _AFFILIATION.search(parts[0]):
                continue
            for part in parts:
                for name in _names_in(part):
                    if name not in authors:
                        authors.append(name)
    return title, authors, stop


# ---------------------------------------------------------------- references


def _reference_entries(lines: list[Line]) -> list[str]:
    """The reference list's lines cut into one string per entry (by [n] labels, hanging indents or gaps)."""
    if not lines:
        return []
    numbered = sum(bool(_REFERENCE_START.match(line.text)) for line in lines)
    dotted = sum(bool(_NUMBERED_REFERENCE.match(line.text)) for line in lines)
    entries: list[list[Line]] = []
    # the list's own left edge in each column of each page where no line of it starts at the column's left: the
    # column's bounds can come from a wider line beside the list (AISTATS 2010: entries start 14 points right)
    left_edge: dict[tuple[int, float], float] = {}
    for line in lines:
        key = (line.page, line.column_left)
        left_edge[key] = min(left_edge.get(key, line.x0), line.x0)
    for (page, column_left), edge in left_edge.items():
        starts = sum(line.page == page and line.column_left == column_left and line.x0 <= edge + 2 for line in lines)
        if edge <= column_left + 2 or starts < 3:  # a stray line or two (an appendix's bullets) sets no edge
            left_edge[(page, column_left)] = column_left
    for i, line in enumerate(lines):
        prev = lines[i - 1] if i else None
        if numbered >= 2:
            new = bool(_REFERENCE_START.match(line.text))
        elif dotted >= 3:
            new = bool(_NUMBERED_REFERENCE.match(line.text))
        else:
            edge = left_edge[(line.page, line.column_left)]
            hanging = any(other.x0 > left_edge[(other.page, other.column_left)] + 3 for other in lines
                          if other.column_left == line.column_left)
            if hanging:
                new = line.x0 <= edge + 2
            else:
                new = prev is None or prev.page != line.page or prev.column_left != line.column_left or \
                    line.top - prev.bottom > 0.45 * line.size or prev.text.rstrip().endswith(".") and \
                    prev.x1 < prev.column_right - 2 * line.size
        if new or not entries:
            entries.append([line])
        else:
            entries[-1].append(line)
    texts = [clean_text("\n".join(line.text for line in entry)).replace("\n", " ").strip() for entry in entries]
    return [text for text in texts if len(text) > 15 and re.search(r"[A-Za-z]{3}", text)]


# ---------------------------------------------------------------- reading


def _open(name: str, data: bytes):
    from pypdf import PdfReader  # imported on first PDF
    from pypdf.errors import PdfReadError

    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise IngestError(f"{name} is not a valid PDF (no %PDF header; the file is corrupt or mislabelled).",
                          "Export the PDF again, or upload it with its real file type.")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:  # pypdf raises DependencyError/NotImplementedError for some ciphers
                opened = 0
            if not opened:
                raise IngestError(f"{name} is encrypted (password-protected), so its text cannot be read.",
                                  "Remove the password (e.g. print to a new PDF) and upload it again.")
        info = reader.metadata or {}
        meta = {"title": str(info.get("/Title") or "").strip(), "authors": str(info.get("/Author") or "").strip()}
        created = re.match(r"(?:D:)?((?:19|20)\d\d)", str(info.get("/CreationDate") or ""))
        if created:
            meta["created_year"] = created.group(1)
        # proceedings copies stamp the venue in Info: '/Subject (2015 IEEE International Conference on Computer
        # Vision)', NIPS '/Published (2015)'
        stamped = re.search(r"\b((?:19|20)\d\d)\b", f"{info.get('/Subject') or ''} {info.get('/Published') or ''}")
        if stamped:
            meta["info_year"] = stamped.group(1)
        n_pages = len(reader.pages)
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise IngestError(f"{name} is a corrupt PDF that pypdf cannot read ({exc}).",
                          "Export the PDF again from its source.") from None
    if not n_pages:
        raise IngestError(f"{name} is a PDF with no pages.", "Check the file.")
    return reader, meta, n_pages


def _page_ranges(numbers: list[int]) -> str:
    """'1-3, 7' for [1, 2, 3, 7]."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def _layout_pages(name: str, data: bytes, reader, n_pages: int) -> tuple[list[list[Line]], list[float], str,
                                                                      list[int], list[str]]:
    """Lines per page (layout, else pypdf text, else OCR), page heights, the arXiv stamp, OCR'd pages, warnings."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    pages: list[list[Line]] = []
    heights: list[float] = []
    stamp = ""
    ocr_pages: list[int] = []
    warnings: list[str] = []
    scanned: list[int] = []
    plain: list[int] = []  # pages whose text came from pypdf because the layout reader got none
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError) as exc:
        pdf = None
        warnings.append(f"layout reader failed ({exc}); text read without layout")
    try:
        for index in range(n_pages):
            number = index + 1
            lines: list[Line] = []
            height = 792.0
            if pdf is not None:
                try:
                    page = pdf.pages[index]
                    height = float(page.height)
                    upright = page.filter(lambda o: o.get("object_type") != "char" or o.get("upright", True))
                    words = _words(upright)
                    sideways = [c for c in page.chars if not c.get("upright", True)]
                    if sideways and not stamp:
                        text = "".join(c["text"] for c in sideways)
                        found = _ARXIV_STAMP.search(text) or _ARXIV_STAMP.search(text[::-1])
                        stamp = found.group(0) if found else ""
                    joined = " ".join(w["text"] for w in words)
                    if len(sideways) > 2 * len(joined) or _garbled(joined):
                        words = []  # rotated or undecodable: let pypdf try
                    lines = _page_lines(words, float(page.width), number) if words else []
                except (PDFSyntaxError, PSException, ValueError, KeyError, TypeError, IndexError) as exc:
                    warnings.append(f"page {number}: layout failed ({type(exc).__name__}); plain text used")
                    lines = []
            if sum(len(line.text) for line in lines) < _OCR_MIN_CHARS:
                try:
                    text = reader.pages[index].extract_text() or ""
                except Exception as exc:  # pypdf raises many types on broken content streams
                    warnings.append(f"page {number}: unreadable ({type(exc).__name__})")
                    text = ""
                if len(text.strip()) >= _OCR_MIN_CHARS and not _garbled(text):
                    lines = _plain_lines(text, number)
                    if pdf is not None:
                        plain.append(number)
                else:
                    ocr = _ocr_page(data, index)
                    if ocr is None:
                        scanned.append(number)
                    else:
                        ocr_pages.append(number)
                        lines = _plain_lines(ocr, number)
            pages.append(lines)
            heights.append(height)
    finally:
        if pdf is not None:
            pdf.close()
    if plain:
        warnings.append(f"pages {_page_ranges(plain)} read without layout (unusual encoding or rotation): "
                        "no columns, headings by pattern only")
    if scanned and len(scanned) < n_pages:
        warnings.append(f"pages {_page_ranges(scanned)} look scanned and were skipped. {OCR_HINT}")
    if scanned and len(scanned) == n_pages:
        raise IngestError(f"{name} contains no extractable text: its {n_pages} page(s) look scanned.", OCR_HINT)
    return pages, heights, stamp, ocr_pages, warnings


def read_pdf(name: str, data: bytes) -> PdfContent:
    """A PDF's blocks, header metadata, parsed references and parse report, or IngestError saying why not."""
    reader, meta, n_pages = _open(name, data)
    pages, heights, stamp, ocr_pages, warnings = _layout_pages(name, data, reader, n_pages)
    drop = _running_lines(pages, heights)
    kept = [[line for i, line in enumerate(lines) if (p, i) not in drop] for p, lines in enumerate(pages)]
    everything = [line for lines in kept for line in lines]
    body_size = _body_size(everything)
    first = _header_lines_first(kept[0]) if kept else []
    if kept:
        kept[0] = first
    title, authors, start = _header(first, body_size, heights[0] if heights else 792.0)
    front_text = "\n".join(line.text for line in first[:start])
    font_headings = any(line.bold or line.size >= body_size * 1.08 for line in everything
                        if looks_like_heading(line.text) and len(line.text) > 3)
    reader_state = _Reader(body_size, font_headings, tuple(authors))
    for p, lines in enumerate(kept):
        for i, line in enumerate(lines):
            if p == 0 and i < start:
                continue
            inline = _ABSTRACT_INLINE.match(line.text.strip()) if p == 0 and i == start else None
            if inline:
                reader_state.flush()
                reader_state.blocks.append(Block("heading", "Abstract", 1))
                line = Line(**{**line.__dict__, "text": inline.group(2)})
            reader_state.add(line, heights[p])
    reader_state.flush()
    reader_state.blocks = _data_blocks(_figure_text_runs(reader_state.blocks))
    entries = tuple(parse_reference(text, n) for n, text in
                    enumerate(_reference_entries(reader_state.reference_lines), start=1))
    blocks = reader_state.blocks
    if reader_state.reference_lines:
        blocks.append(Block("heading", "References", reader_state.reference_lines[0].page))
        texts = [entry.text for entry in entries] or [line.text for line in reader_state.reference_lines]
        blocks.extend(Block("para", text, reader_state.reference_lines[0].page) for text in texts)
    first_text = clean_text("\n".join([stamp, front_text] + [line.text for line in first[start:start + 40]]))
    if title:
        meta["layout_title"] = title
    if authors:
        meta["layout_authors"] = authors
    found = _ARXIV_STAMP.search(stamp)
    if found:
        meta["arxiv_stamp"] = found.group(1)
    venue = _VENUE.search(front_text) or next((_VENUE.search(line.text) for line in first[start:]
                                               if line.size < body_size * 0.95 and _VENUE.search(line.text)), None)
    if venue:
        meta["layout_venue"] = venue.group(0).strip().rstrip(".")
    # failing all the above, a year printed in the header; never one from the body ('ImageNet ILSVRC 2012')
    front_year = re.search(r"\b(19[5-9]\d|20[0-4]\d)\b", front_text)
    meta["front_year"] = front_year.group(1) if front_year else ""
    published = _PUBLISHED.search(front_text)
    if published:
        meta["published_year"] = published.group(1)
    if 1 in ocr_pages:
        meta["first_page_ocr"] = True
    doi = _DOI.search(front_text)
    if doi:
        meta["doi"] = doi.group(1)
    words = sum(len(block.text.split()) for block in blocks)
    if not entries and reader_state.reference_lines:
        warnings.append("a references section was found but no entries could be cut from it")
    if not any(block.kind == "heading" for block in blocks):
        warnings.append("no section headings found")
    if n_pages >= 4 and not entries:
        warnings.append("no reference list found")
    report = ParseReport(pages=n_pages, words=words, sections=reader_state.counts["sections"],
                         tables=sum(label.startswith("Table") for label in reader_state.labels - {""}),
                         figures=sum(label.startswith("Fig") for label in reader_state.labels),
                         references=len(entries), equations=reader_state.counts["equations"],
                         footnotes=reader_state.counts["footnotes"], ocr_pages=tuple(ocr_pages),
                         warnings=tuple(warnings),
                         headings=tuple(b.text for b in blocks if b.kind == "heading" and b.text != "References"))
    log.debug("read %s: %d pages, %d blocks, %d references", name, n_pages, len(blocks), len(entries))
    return PdfContent(blocks, meta, n_pages, first_text, entries, report)


