"""Find passages that read as instructions to a model (prompt injection) or hide text from the reader.

Retrieved text always goes into a delimited data block, never into the instructions; these findings
let the evidence card and the check panel warn the writer that a source tries to steer the model.
"""

from __future__ import annotations

import base64
import binascii
import re

from engine.records import Finding

# (rule, pattern, message); every pattern needs an instruction-shaped phrase, not a topic word, so
# prose about instruction tuning ("the model is instructed to follow ...") stays clean.
_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("ignore_instructions", re.compile(
        r"\b(ignore|disregard|forget|override|bypass)\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|"
        r"earlier|preceding|foregoing|original|system|existing)\s+(instructions?|prompts?|directions|rules|"
        r"guidelines|messages?|context)", re.I),
     "tells the model to ignore its instructions"),
    ("disregard_sources", re.compile(
        r"\b(ignore|disregard|discard)\s+(all\s+|any\s+|the\s+|other\s+)*(sources?|documents?|passages?|evidence|"
        r"retrieved\s+(text|context))\b", re.I),
     "tells the model to disregard its sources"),
    ("do_not_cite", re.compile(r"\b(do\s+not|don't|never)\s+(cite|credit|attribute|reference)\b", re.I),
     "tells the model not to cite"),
    ("role_change", re.compile(
        r"\b(you\s+are\s+now\b|from\s+now\s+on,?\s+you\b|act\s+as\s+(an?\s+)?(unrestricted|different|new)\b|"
        r"pretend\s+(to\s+be|you\s+are)\b|your\s+new\s+(role|instructions?|task)\s+(is|are)\b)", re.I),
     "tries to give the model a new role"),
    ("role_prompt", re.compile(r"(?im)^\s*(#{1,3}\s*)?(system|assistant|user|developer|instruction)\s*:"),
     "contains a chat role prompt"),
    ("chat_token", re.compile(r"<\|[a-z_]{2,20}\|>|\[/?INST\]|<</?SYS>>|<start_of_turn>|<end_of_turn>", re.I),
     "contains chat-template control tokens"),
    ("hidden_comment", re.compile(r"<!--.*?-->", re.S), "contains an HTML comment a reader does not see"),
    ("hidden_css", re.compile(
        r"(display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(px|pt|em)?\b|opacity\s*:\s*0(\.0+)?\b|"
        r"color\s*:\s*(white|#fff(fff)?\b|rgb\(\s*255\s*,\s*255\s*,\s*255\s*\)))", re.I),
     "contains styling that hides text (white-on-white, display:none, zero size)"),
)
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\u2062\u2063\u2064\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]+")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{60,}={0,2}(?![A-Za-z0-9+/=])")


def _decoded_text(blob: str) -> str | None:
    """The blob decoded as base64 when it is mostly printable text, else None."""
    try:
        raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    if not raw:
        return None
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw) / len(raw)
    return raw.decode("ascii", "replace") if printable > 0.9 else None


def instruction_like(text: str) -> list[Finding]:
    """Findings (offset, length, message) for instruction-like or hidden content in a passage, in order."""
    findings: list[Finding] = []
    for rule, pattern, message in _RULES:
        for match in pattern.finditer(text):
            severity = "info" if rule == "hidden_comment" and not _has_instruction(match.group()) else "warning"
            findings.append(Finding(kind=f"injection:{rule}", offset=match.start(), length=len(match.group()),
                                    message=f"Passage {message}: {match.group()[:80]!r}", severity=severity))
    for match in _ZERO_WIDTH.finditer(text):
        findings.append(Finding(kind="injection:zero_width", offset=match.start(), length=len(match.group()),
                                message=f"Passage contains {len(match.group())} invisible character(s)",
                                severity="warning"))
    for match in _BASE64.finditer(text):
        decoded = _decoded_text(match.group())
        if decoded is not None:
            hidden = " (it hides instructions)" if _has_instruction(decoded) else ""
            findings.append(Finding(kind="injection:base64", offset=match.start(), length=len(match.group()),
                                    message=f"Passage contains base64-encoded text{hidden}: {decoded[:60]!r}",
                                    severity="warning"))
    return sorted(findings, key=lambda f: (f.offset, f.kind))


def _has_instruction(text: str) -> bool:
    return any(pattern.search(text) for rule, pattern, _ in _RULES[:6])


def looks_injected(text: str) -> bool:
    """True when the passage has at least one warning-level finding."""
    return any(f.severity == "warning" for f in instruction_like(text))
