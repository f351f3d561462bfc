"""Build small laid-out PDFs for the ingest tests: text placed at positions in the standard Helvetica and
Times fonts (regular and bold), so font sizes, columns and table gaps are real; and image-only pages."""

from __future__ import annotations

import io
from dataclasses import dataclass

FONTS = {"F1": "Times-Roman", "F2": "Times-Bold", "F3": "Helvetica", "F4": "Helvetica-Bold",
         # TeX's math symbol and extension fonts embedded without a Unicode map: the PDF reader sees only glyph
         # ids ('(cid:48)'); text in them is given as glyph codes, tex_glyphs(48, 80)
         "F5": "CMSY10", "F6": "CMEX10",
         # a Computer Modern text font whose encoding names code 11 'carriagereturn' and code 12 the fi ligature
         # (U+FB01), as some TeX setups embed CMR10: the ff ligature then reads as '↵' (text: '\x0b', '\x0c')
         "F7": "CMR10",
         # a typesetter's renamed TeX math symbol font (OMS codes read as ASCII: 'f' is '{'), with '(', ')', '='
         # and '+' at the codes of 'ð', 'Þ', '¼', 'þ'
         "F8": "TeX_CM_Maths_Symbols"}


def tex_glyphs(*codes: int) -> str:
    """Text for the F5/F6 fonts: each glyph code as the two bytes their Identity-H encoding reads."""
    return "".join(chr(code >> 8) + chr(code & 0xFF) for code in codes)
WIDTH, HEIGHT = 612, 792


@dataclass(frozen=True)
class Text:
    """One line of text at (x, y) from the page's top-left, in a font and size."""

    x: float
    y: float
    text: str
    size: float = 10
    font: str = "F1"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build_pdf(pages: list[list[Text]], title: str = "", author: str = "", created: str = "") -> bytes:
    """A valid PDF with the given text lines on each page (`created`: its Info CreationDate, 'D:20170101')."""
    objects: list[bytes] = []
    n = len(pages)
    font_ids = {name: 3 + 2 * n + i for i, name in enumerate(FONTS)}
    info_id = 3 + 2 * n + len(FONTS)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    fonts = " ".join(f"/{name} {oid} 0 R" for name, oid in font_ids.items())
    for number, lines in enumerate(pages):
        ops = []
        for line in lines:
            ops.append(f"BT /{line.font} {line.size} Tf {line.x} {HEIGHT - line.y} Td ({_escape(line.text)}) Tj ET")
        stream = "\n".join(ops).encode("latin-1")
        page_id = 3 + 2 * number
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {WIDTH} {HEIGHT}] /Contents {page_id + 1} 0 R "
                       f"/Resources << /Font << {fonts} >> >> >>".encode())
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
    for name in FONTS:
        if FONTS[name] in ("CMSY10", "CMEX10"):  # a composite font with two-byte glyph ids and no ToUnicode map
            descriptor = (f"<< /Type /FontDescriptor /FontName /{FONTS[name]} /Flags 4 /FontBBox [0 -250 1000 750] "
                          "/ItalicAngle 0 /Ascent 750 /Descent -250 /CapHeight 700 /StemV 50 >>")
            objects.append(f"<< /Type /Font /Subtype /Type0 /BaseFont /{FONTS[name]} /Encoding /Identity-H "
                           f"/DescendantFonts [<< /Type /Font /Subtype /CIDFontType0 /BaseFont /{FONTS[name]} "
                           "/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
                           f"/FontDescriptor {descriptor} /DW 500 >>] >>".encode())
        elif FONTS[name] in ("CMR10", "TeX_CM_Maths_Symbols"):
            descriptor = (f"<< /Type /FontDescriptor /FontName /{FONTS[name]} /Flags 4 /FontBBox [0 -250 1000 750] "
                          "/ItalicAngle 0 /Ascent 750 /Descent -250 /CapHeight 700 /StemV 50 >>")
            objects.append(f"<< /Type /Font /Subtype /Type1 /BaseFont /{FONTS[name]} /FirstChar 0 /LastChar 255 "
                           f"/Widths [{' '.join(['500'] * 256)}] /FontDescriptor {descriptor} "
                           "/Encoding << /Type /Encoding /BaseEncoding /WinAnsiEncoding "
                           "/Differences [11 /carriagereturn /uniFB01] >> >>".encode())
        else:
            objects.append(f"<< /Type /Font /Subtype /Type1 /BaseFont /{FONTS[name]} "
                           f"/Encoding /WinAnsiEncoding >>".encode())
    dated = f" /CreationDate ({created})" if created else ""
    objects.append(f"<< /Title ({_escape(title)}) /Author ({_escape(author)}){dated} >>".encode())
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def wrap(text: str, width: int) -> list[str]:
    """Words of `text` in lines of at most `width` characters."""
    lines, current = [], ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    return lines + [current] if current else lines


def column(x: float, y: float, paragraphs: list[str], width: int = 48, size: float = 10) -> tuple[list[Text], float]:
    """Paragraphs set as a column of lines starting at (x, y); returns the lines and the y below them."""
    lines = []
    for paragraph in paragraphs:
        if paragraph.startswith("#"):  # a bold heading line
            lines.append(Text(x, y, paragraph.lstrip("# "), size + 1, "F2"))
            y += 16
            continue
        for line in wrap(paragraph, width):
            lines.append(Text(x, y, line, size))
            y += 12
        y += 6
    return lines, y


def scanned_page_pdf(text_lines: list[str]) -> bytes:
    """A one-page PDF holding only an image of the given text (as a scanner makes)."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    for i, line in enumerate(text_lines):
        draw.text((150, 200 + i * 70), line, fill=0, font=font)
    buffer = io.BytesIO()
    image.save(buffer, "PDF", resolution=200)
    return buffer.getvalue()


def concatenate(*pdfs: bytes) -> bytes:
    """One PDF made of the pages of several."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in pdfs:
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def text_width(text: str, size: float, font: str = "F1") -> float:
    """The width in points of `text` set in one of the standard FONTS (their published metrics)."""
    from pdfminer.fontmetrics import FONT_METRICS

    widths = FONT_METRICS[FONTS[font]][1]
    return sum(widths.get(ch, 500) for ch in text) * size / 1000
