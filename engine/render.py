"""Markdown → safe HTML, the one renderer behind the Write preview, review comments and every export.

markdown-it-py parses the draft (CommonMark in linear time: no blow-up on nested brackets, and
nesting deeper than `MAX_NESTING` is shown as text instead of recursing). Math (`$…$`, `$$…$$`,
`\\(…\\)`, `\\[…\\]`, and bare `\\begin{aligned}`-style environments) is parsed before any Markdown
escape processing, so `\\\\` line breaks survive, and is converted on the server to MathML by
latex2mathml: the browser draws it natively, nothing is fetched. Code blocks are highlighted by
Pygments (CSS classes, styles in `CODE_STYLE`). Mermaid blocks become pictures drawn by
`engine.diagrams` (the bundled mermaid in strict mode) or, when that fails, their source and the
reason. Remote images never load: an image becomes a link to where it lives.

Everything generated passes, whole, through nh3 (`sanitize_html`): whatever a draft or a review
comment contains, the result has no script, no event handler, no style attribute and no
non-web URL. Diagram pictures are put in after sanitizing, as `data:` images of the SVG mermaid
drew from the writer's source (an SVG shown through `<img>` cannot run scripts or load anything).
"""

from __future__ import annotations

import base64
import html
import io
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import nh3

from engine.markup import CITATION

MAX_CHARS = 400_000  # a long article is ~60k characters; beyond this the preview shows plain text
MAX_NESTING = 40  # lists/quotes deeper than this are shown as text (markdown-it stops nesting there)
MAX_MATH_CHARS = 5_000  # one formula longer than this is shown as source

_MATHML_TAGS = {"math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msub", "msup", "msubsup", "mfrac",
                "msqrt", "mroot", "mtable", "mtr", "mtd", "mover", "munder", "munderover", "mstyle", "mpadded",
                "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts", "none"}
_MATHML_ATTRIBUTES = {"display", "mathvariant", "displaystyle", "scriptlevel", "rowspacing", "columnspacing",
                      "columnalign", "rowalign", "columnlines", "rowlines", "frame", "stretchy", "fence", "form",
                      "separator", "lspace", "rspace", "accent", "accentunder", "linethickness", "movablelimits",
                      "width", "height", "depth", "notation", "minsize", "maxsize", "symmetric", "largeop",
                      "columnspan", "rowspan"}

_ALLOWED_TAGS = (set(nh3.ALLOWED_TAGS) | {"main", "section", "sup", "figure", "figcaption"} | _MATHML_TAGS) \
    - {"img", "map", "area"}  # no images from the text: a page or an exported file must not call home
_ALLOWED_ATTRIBUTES = {tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ALLOWED_ATTRIBUTES.update({
    "a": {"href", "title", "id"}, "li": {"id", "value"}, "ol": {"start"}, "sup": {"id"},
    "th": {"align"}, "td": {"align"},
    **{f"h{i}": {"id"} for i in range(1, 7)}, **{tag: set(_MATHML_ATTRIBUTES) for tag in _MATHML_TAGS},
})
_URL_SCHEMES = {"http", "https", "mailto"}


def _pygments_classes() -> set[str]:
    from pygments.token import STANDARD_TYPES

    return {c for c in STANDARD_TYPES.values() if c}


_ALLOWED_CLASSES = {
    "a": {"citation", "remote-image", "footnote-ref", "footnote-backref"}, "ol": {"references"},
    "code": {f"language-{x}" for x in ("python", "bash", "text", "json", "yaml", "mermaid", "sql", "toml",
                                        "markdown")},
    "table": {"diff"}, "td": {"diff_header", "diff_next", "diff_add", "diff_chg", "diff_sub"},
    "span": {"diff_add", "diff_chg", "diff_sub", "math-error", "render-note"} | _pygments_classes(),
    "div": {"highlight", "diagram", "render-note"}, "pre": {"math-error"}, "p": {"render-note"},
    "figure": {"diagram", "diagram-error"}, "section": {"footnotes"}, "li": {"footnote-item"},
    "hr": {"footnotes-sep"},
}


def sanitize_html(fragment: str) -> str:
    """An HTML fragment with everything but safe structure, MathML and web links removed (nh3)."""
    return nh3.clean(fragment, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES, allowed_classes=_ALLOWED_CLASSES,
                     url_schemes=_URL_SCHEMES, link_rel="noopener noreferrer", strip_comments=True)


# ----------------------------------------------------------------------- math
# latex2mathml draws these environments as tables; the others it knows only as line breaks,
# which MathML Core (what browsers implement) ignores, so they are mapped onto ones it tables.
_ENV_ALIASES = {"aligned": "split", "alignedat": "split", "gathered": "matrix", "gather": "matrix",
                "gather*": "matrix", "multline": "matrix", "multline*": "matrix", "eqnarray": "split",
                "eqnarray*": "split"}
_NOT_DRAWN = re.compile(r"\\label\{[^{}]*\}|\\nonumber\b|\\notag\b")
_BEGIN_END = re.compile(r"\\(begin|end)\{(\w+\*?)\}(\{\d+\})?")


def _latex_for_mathml(latex: str) -> str:
    def alias(match: re.Match) -> str:
        target = _ENV_ALIASES.get(match.group(2))
        if target is None:
            return match.group(0)
        return f"\\{match.group(1)}{{{target}}}"  # alignedat's {n} column count is dropped with it

    latex = _NOT_DRAWN.sub("", latex)  # cross-reference labels and numbering switches draw nothing
    latex = re.sub(r"\\arg(?![A-Za-z])", r"\\operatorname{arg}", latex)  # the one function name latex2mathml lacks
    return _BEGIN_END.sub(alias, latex)


@lru_cache(maxsize=2048)
def math_html(latex: str, display: bool) -> str:
    """MathML for one formula, or its source marked as an error (with the reason) when it does not convert."""
    from latex2mathml.converter import convert

    source = latex.strip()
    reason = ""
    if len(source) > MAX_MATH_CHARS:
        reason = f"formula longer than {MAX_MATH_CHARS} characters"
    else:
        try:
            return convert(_latex_for_mathml(source), display="block" if display else "inline")
        except RecursionError:
            reason = "nested too deeply"
        except Exception as exc:  # latex2mathml raises many kinds (NoAvailableTokensError, …) on bad LaTeX
            reason = f"{type(exc).__name__} {exc}".strip()
    title = html.escape(f"This formula could not be drawn ({reason}); check its LaTeX.", quote=True)
    delimiters = ("$$", "$$") if display else ("$", "$")
    text = html.escape(f"{delimiters[0]}{source}{delimiters[1]}")
    if display:
        return f'<pre class="math-error" title="{title}">{text}</pre>'
    return f'<span class="math-error" title="{title}">{text}</span>'


# OpenType math fonts from Debian packages (fonts-dejavu-extra, fonts-stix, fonts-lmodern), first found wins.
MATH_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf",
              "/usr/share/fonts/opentype/stix/STIXTwoMath-Regular.otf",
              "/usr/share/texmf/fonts/opentype/public/lm-math/latinmodern-math.otf")


def math_font_css(fragment: str, fonts: tuple[str, ...] = MATH_FONTS) -> str:
    """An @font-face rule embedding the math font, cut down to the characters the fragment's formulas use.

    The standalone file then draws its formulas the same way on any machine, offline. '' when the
    fragment has no math or no math font is installed (the browser's own math font is used then).
    """
    formulas = re.findall(r"<math\b.*?</math>", fragment, flags=re.S)
    path = next((Path(f) for f in fonts if Path(f).is_file()), None)
    if not formulas or path is None:
        return ""
    # msqrt and mroot draw a radical that is in no text node; brackets may stretch from their variants
    characters = set(html.unescape(re.sub(r"<[^>]+>", "", "".join(formulas)))) | set("()[]{}|=+-−√∛∜")
    face = _font_face(str(path), frozenset(characters), "PeerDraft Math")
    return face + "math { font-family: 'PeerDraft Math', math; }\n" if face else ""


# Text faces from Debian's fonts-dejavu-core (installed with Chromium): (file, family, weight, style).
TEXT_FONTS = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", "PeerDraft Serif", "normal", "normal"),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf", "PeerDraft Serif", "normal", "italic"),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf", "PeerDraft Serif", "bold", "normal"),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSerif-BoldItalic.ttf", "PeerDraft Serif", "bold", "italic"),
    ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", "PeerDraft Mono", "normal", "normal"),
)


_TEXT_BASE = frozenset(chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x100)]) | frozenset("–—‘’“”…•×·−→←≈≤≥")


def text_font_css(fragment: str, fonts: tuple[tuple[str, str, str, str], ...] = TEXT_FONTS) -> str:
    """@font-face rules embedding the text and code faces, each cut down to the characters the fragment uses.

    Faces whose file is not installed are left out (the page's font stacks fall back to system fonts).
    """
    text = html.unescape(re.sub(r"<math\b.*?</math>|<[^>]+>", "", fragment, flags=re.S))
    # A fixed base set (ASCII, Latin-1, typographic punctuation) keeps one cached subset per face for most
    # articles: the Write page builds this export on every rerun, and a fresh subset costs ~0.15 s a face.
    characters = _TEXT_BASE | frozenset(text)
    return "".join(_font_face(path, characters, family, weight, style)
                   for path, family, weight, style in fonts if Path(path).is_file())


@lru_cache(maxsize=64)  # the Write page renders its exports on every rerun; the text rarely changes
def _font_face(path_name: str, characters: frozenset[str], family: str, weight: str = "normal",
               style: str = "normal") -> str:
    from fontTools import subset

    path = Path(path_name)
    options = subset.Options()
    options.layout_features = ["*"]  # keep what stretches brackets and places scripts (the MATH table stays)
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]  # FontForge's timestamp: fontTools would log that it cannot subset it
    try:
        font = subset.load_font(str(path), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(c) for c in characters])
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
    except Exception:  # a damaged or unusual font file: fall back to the reader's math font
        return ""
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    mime, kind = ("font/otf", "opentype") if path.suffix == ".otf" else ("font/ttf", "truetype")
    return (f"@font-face {{ font-family: '{family}'; font-weight: {weight}; font-style: {style}; "
            f"src: url(data:{mime};base64,{data}) format('{kind}'); }}\n")


# ----------------------------------------------------------------------- code
@lru_cache(maxsize=1)
def code_style() -> str:
    """The CSS for highlighted code blocks (Pygments' default style under `.highlight`)."""
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")


def _code_html(code: str, language: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(language) if language else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return f"<pre><code>{html.escape(code)}</code></pre>\n"
    return highlight(code, lexer, HtmlFormatter(cssclass="highlight"))


# ----------------------------------------------------------------------- diagrams
@dataclass(frozen=True)
class Diagram:
    """One drawn diagram: its SVG and a PNG (base64) of it, or the reason it could not be drawn (both empty)."""

    source: str
    svg: str = ""
    error: str = ""
    png: str = ""


DiagramRenderer = Callable[[Sequence[str]], list[Diagram]]


def _diagram_figure(diagram: Diagram, number: int) -> str:
    if diagram.svg:
        data = base64.b64encode(diagram.svg.encode("utf-8")).decode("ascii")
        return (f'<figure class="diagram"><img alt="Diagram {number}" '
                f'src="data:image/svg+xml;base64,{data}"></figure>')
    return (f'<figure class="diagram diagram-error"><pre><code>{html.escape(diagram.source)}</code></pre>'
            f'<figcaption>Diagram {number} not drawn: {html.escape(diagram.error)}</figcaption></figure>')


# ----------------------------------------------------------------------- Markdown
@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.amsmath import amsmath_plugin
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.texmath import texmath_plugin

    md = MarkdownIt("commonmark", {"html": True, "maxNesting": MAX_NESTING})
    # Every link parses as a link, so a javascript: one keeps its text and nh3 drops its URL (markdown-it
    # would leave the whole "[text](javascript:…)" on the page as text).
    md.validateLink = lambda url: True
    md.enable(["table", "strikethrough"])
    # "$5 and $6" stays text: no math right after a digit or before one, no space inside the dollars.
    md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True)
    md.use(texmath_plugin, delimiters="brackets")
    md.use(amsmath_plugin).use(footnote_plugin).use(deflist_plugin)
    rules = md.add_render_rule
    rules("math_inline", lambda self, tokens, i, options, env: _math(tokens[i].content, False, env))
    rules("math_inline_double", lambda self, tokens, i, options, env: _math(tokens[i].content, True, env))
    rules("math_single", lambda self, tokens, i, options, env: _math(tokens[i].content, False, env))
    for name in ("math_block", "math_block_label", "math_block_eqno", "math_double", "amsmath"):
        rules(name, lambda self, tokens, i, options, env: f"<p>{_math(tokens[i].content, True, env)}</p>\n")
    rules("fence", _render_fence)
    rules("code_block", lambda self, tokens, i, options, env: _code_html(tokens[i].content, ""))
    rules("image", _render_image)
    return md


def _math(latex: str, display: bool, env: dict) -> str:
    if env.get("mathml", True):
        return math_html(latex, display)
    delimiters = ("$$", "$$") if display else ("$", "$")
    return f"<code>{html.escape(delimiters[0] + latex.strip() + delimiters[1])}</code>"


def parse_blocks(markdown: str) -> list:
    """markdown-it's tokens of a text, parsed exactly as the renderer does (math, diagrams, tables)."""
    return _parser().parse(markdown)


def _render_fence(self, tokens, i, options, env) -> str:
    token = tokens[i]
    language = token.info.strip().split(maxsplit=1)[0].lower() if token.info.strip() else ""
    if language == "mermaid":
        diagrams = env.setdefault("diagrams", [])
        diagrams.append(token.content)
        return f'<div class="diagram">{env["nonce"]}-{len(diagrams) - 1}</div>\n'
    return _code_html(token.content, language)


def _render_image(self, tokens, i, options, env) -> str:
    """An image as a link to it: nothing remote loads in a reader's browser (tracking pixels, leaks)."""
    token = tokens[i]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = token.attrGet("src") or ""
    if src.startswith(("http://", "https://")):
        return (f'<a class="remote-image" href="{html.escape(src, quote=True)}">'
                f'[image: {html.escape(alt)}, not loaded]</a>')
    return f"[image: {html.escape(alt)}]"


def _link_citations(fragment: str, known: set[int]) -> str:
    """`[n]` in text (not in code, links or math) → `[<a href="#ref-n">n</a>]` for numbers in the list."""
    out, skip_depth = [], 0
    for piece in re.split(r"(<[^>]+>)", fragment):
        if piece.startswith("<"):
            tag = re.match(r"</?\s*([a-zA-Z0-9]+)", piece)
            if tag and tag.group(1).lower() in ("code", "pre", "a", "math") and not piece.endswith("/>"):
                skip_depth += -1 if piece.startswith("</") else 1
            out.append(piece)
        elif skip_depth > 0:
            out.append(piece)
        else:
            out.append(CITATION.sub(lambda m: _citation_links(m, known), piece))
    return "".join(out)


def _citation_links(match: re.Match, known: set[int]) -> str:
    def link(number_text: str) -> str:
        n = int(number_text)
        return f'<a class="citation" href="#ref-{n}">{n}</a>' if n in known else number_text
    return "[" + re.sub(r"\d+", lambda m: link(m.group(0)), match.group(1)) + "]"


def _as_text(markdown: str, why: str, fix: str) -> str:
    note = f'<p class="render-note">This text {html.escape(why)}, so it is shown as plain text. {html.escape(fix)}</p>'
    return note + f"<pre>{html.escape(markdown)}</pre>"


def draw_diagrams(sources: Sequence[str]) -> list[Diagram]:
    """Mermaid sources drawn by the bundled mermaid in headless Chromium (`engine.diagrams`)."""
    from engine.diagrams import render_mermaid

    return render_mermaid(sources)


def render_html(markdown: str, *, citations: set[int] | None = None,
                diagrams: DiagramRenderer | None = draw_diagrams, mathml: bool = True) -> str:
    """A sanitized HTML fragment of a Markdown text: math as MathML, code highlighted, diagrams drawn.

    `citations`: reference numbers whose `[n]` markers become links to `#ref-n`. `diagrams`: draws
    Mermaid sources (None leaves each block as its source with a note that diagrams are off here).
    `mathml=False` shows formulas as their LaTeX in code, for hosts that drop MathML (Streamlit's st.html).
    """
    if len(markdown) > MAX_CHARS:
        return sanitize_html(_as_text(markdown, f"has {len(markdown):,} characters, more than the {MAX_CHARS:,} "
                                      "PeerDraft renders", "Split it into several articles to see it formatted."))
    env: dict = {"nonce": "pd-diagram-" + secrets.token_hex(8), "mathml": mathml}
    parser = _parser()
    tokens = parser.parse(markdown, env)
    if any(token.level >= MAX_NESTING - 1 for token in tokens):
        # markdown-it stops parsing blocks at its nesting limit and drops what follows: show it all as text
        return sanitize_html(_as_text(markdown, f"nests lists or quotes more than {MAX_NESTING // 2} levels deep",
                                      "Flatten the nesting to see it formatted."))
    fragment = parser.renderer.render(tokens, parser.options, env)
    if citations:
        fragment = _link_citations(fragment, citations)
    clean = sanitize_html(fragment)
    sources = env.get("diagrams", [])
    if not sources:
        return clean
    drawn = list(diagrams(sources)) if diagrams is not None else \
        [Diagram(s, error="diagrams are not drawn here") for s in sources]
    for number, diagram in enumerate(drawn):
        placeholder = f'<div class="diagram">{env["nonce"]}-{number}</div>'
        clean = clean.replace(placeholder, _diagram_figure(diagram, number + 1), 1)
    return clean


def render_inline(text: str) -> str:
    """One line of Markdown (a reference entry, a comment) as sanitized inline HTML."""
    rendered = render_html(text, diagrams=None).strip()
    return re.sub(r"^<p>(.*)</p>$", r"\1", rendered, flags=re.S)


PREVIEW_STYLE = """
.render-note { color: #8a5300; background: #fff6e0; padding: .3rem .6rem; border-radius: 4px; }
.math-error { color: #b00020; font-family: ui-monospace, Menlo, monospace; }
figure.diagram { margin: 1rem 0; text-align: center; } figure.diagram img { max-width: 100%; }
figure.diagram-error { text-align: left; } figure.diagram-error figcaption { color: #b00020; font-size: .9em; }
math[display="block"] { margin: .6rem 0; }
mtd[columnalign="left"] { text-align: left; } mtd[columnalign="right"] { text-align: right; }
"""


_PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'"
_PREVIEW_PAGE_STYLE = """
body { font: 15px/1.55 'Source Sans Pro', system-ui, -apple-system, 'Segoe UI', sans-serif; color: #262730;
       margin: .25rem .5rem; }
pre { background: #f6f8fa; padding: .6rem .8rem; overflow-x: auto; border-radius: 6px; font-size: .85rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .25rem .5rem; }
"""


@lru_cache(maxsize=16)  # the Write page reruns on every widget change; the text mostly has not changed
def preview_document(markdown: str) -> str:
    """A whole HTML document of the rendered article for an iframe (`components.html`).

    Streamlit's `st.html` runs its own sanitizer, which drops MathML; an iframe shows the nh3-sanitized
    page as the export does, and its Content-Security-Policy forbids scripts and any network load.
    """
    body = render_html(markdown)
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_PREVIEW_CSP}">'
            f"<style>{_PREVIEW_PAGE_STYLE}{PREVIEW_STYLE}{code_style()}{math_font_css(body)}</style></head>"
            f"<body>{body}</body></html>")


@lru_cache(maxsize=16)
def preview_html(markdown: str, *, citations: frozenset[int] | None = None) -> str:
    """The rendered article with the styles it needs, for a page to show (`st.html`)."""
    return f"<style>{PREVIEW_STYLE}{code_style()}</style>\n" + render_html(markdown, citations=set(citations or ()))
