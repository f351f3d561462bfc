"""Grounding figures of a draft, built on the verify stage, with the unsupported claims and a per-section view."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

from engine.events import OnEvent, ignore_event
from engine.markup import prose_map
from engine.records import Passage


@dataclass(frozen=True)
class Claim:
    """A sentence the writer must look at: where it is, what it says, and why it is flagged."""

    offset: int
    length: int
    text: str
    status: str  # unsupported | uncited_claim
    section: str
    reasons: tuple[str, ...] = ()
    evidence: str = ""


@dataclass(frozen=True)
class SectionGrounding:
    """Claims and supported claims in one section of the draft."""

    title: str
    claims: int
    supported: int

    @property
    def share(self) -> float:
        return round(self.supported / self.claims, 4) if self.claims else 0.0


@dataclass(frozen=True)
class GroundingMeasure:
    """ALCE-style figures: citation share, recall and precision, plus the claims that fail."""

    sentences: int
    claims: int
    cited_share: float
    citation_recall: float
    citation_precision: float
    unsupported: tuple[Claim, ...] = ()
    sections: tuple[SectionGrounding, ...] = field(default_factory=tuple)
    judge: str = ""  # what judged the claims: the meaning-level judge, or the signals alone

    @property
    def percent(self) -> float:
        """Citation recall as a percentage: the headline 'grounded' figure."""
        return round(100.0 * self.citation_recall, 1)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["percent"] = self.percent
        for row, section in zip(data["sections"], self.sections):
            row["share"] = section.share
        return data


def _section_titles(markdown: str) -> list[tuple[int, str]]:
    """(start offset, title) of every section, in draft order."""
    return [(s.offset, s.title) for s in prose_map(markdown).sections]


def _section_at(starts: list[tuple[int, str]], offset: int) -> str:
    title = starts[0][1] if starts else ""
    for start, name in starts:
        if start > offset:
            break
        title = name
    return title


def measure_grounding(markdown: str, citation_map: Mapping[int, Sequence[Passage]], embedder, *,
                      nli=None, on_event: OnEvent = ignore_event) -> GroundingMeasure:
    """Verify the draft as written (never strict), with the judge `nli` when given, and summarise its grounding."""
    from engine.verify import verify_draft
    from engine.verify.judge import judge_name

    report = verify_draft(markdown, citation_map, embedder, strict=False, nli=nli, on_event=on_event)
    starts = _section_titles(markdown)
    claims: list[Claim] = []
    per_section: dict[str, list[int]] = {title: [0, 0] for _, title in starts}
    for check in report.sentences:
        if check.status == "no_claim" and not check.citations:
            continue
        section = _section_at(starts, check.offset)
        counts = per_section.setdefault(section, [0, 0])
        counts[0] += 1
        if check.status == "supported":
            counts[1] += 1
        else:
            claims.append(Claim(check.offset, check.length, check.text, check.status, section,
                                tuple(check.reasons), check.evidence))
    g = report.grounding
    sections = tuple(SectionGrounding(title, c, s) for title, (c, s) in per_section.items() if c)
    return GroundingMeasure(g.sentences, g.claims, g.cited_share, g.citation_recall, g.citation_precision,
                            tuple(claims), sections, judge_name(nli))
