"""The people a draft cites (`cited_names`), so that no check takes a name for a term.

The prose map the checks read (`prose_map`, `ProseMap`, `sentences`) lives in `engine.markup`, the one home
of Markdown structure.
"""

from __future__ import annotations

import re

from engine.markup import ProseMap


# --- people cited ------------------------------------------------------------------------

_PERSON = r"[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?"
_PROSE_CITATION = re.compile(
    rf"\b({_PERSON})(?:\s*(?:&|and)\s*({_PERSON}))?(?:,?\s+et\s+al\.?)?,?\s*[(\[]?(?:19|20)\d\d[a-z]?\b"
    rf"|\b({_PERSON})(?:,?\s+et\s+al\b)")
_AUTHOR_WORD = re.compile(r"\b[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?\b")


def cited_names(mapped: ProseMap) -> frozenset[str]:
    """Surnames and given names of the people the draft cites: from citation link texts, the reference
    list's author parts and "Name et al." / "Name (2019)" in the prose. A name is never a term."""
    source = mapped.source
    names: set[str] = set()
    for ex in mapped.excluded:
        piece = source[ex.offset:ex.offset + ex.length]
        if ex.kind == "citation":
            names.update(_AUTHOR_WORD.findall(piece.split("](")[0]))
        elif ex.kind == "link definition" and piece.lstrip().startswith("[^"):
            # A footnote citing a paper: "[^beatgans]: Dhariwal, Nichol, \"[Diffusion Models Beat GANs…](url)\"".
            authors = re.split(r"[\[\"“(]|\.\s", piece.split("]:", 1)[-1], maxsplit=1)[0]
            names.update(_AUTHOR_WORD.findall(authors))
        elif ex.kind == "references":
            # "[3] Shuohang Wang, et al. ["Title"](url) AAAI 2018.": authors come before the title.
            authors = re.split(r"[\[\"“]|\.\s", re.sub(r"^\s*(?:[-*+]\s+)?\[?\d+\]?\.?\s*", "", piece), maxsplit=1)[0]
            names.update(_AUTHOR_WORD.findall(authors))
    for m in _PROSE_CITATION.finditer(mapped.text):
        names.update(g for g in m.groups() if g)
    names |= {part for n in names if "-" in n for part in n.split("-")}  # "Sohl-Dickstein" is also "Sohl", "Dickstein"
    return frozenset(n for n in names if n not in ("Et", "Al", "The", "In", "See", "And"))
