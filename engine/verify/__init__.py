"""Verify stage: check each drafted sentence against the passages it cites (see support.py for signals)."""

from engine.verify.report import Grounding, SentenceCheck, VerifyReport, makes_claim, verify_draft
from engine.markup import SentenceSpan, citations_in, split_sentences, strip_citations
from engine.verify.support import (SUPPORT_THRESHOLD, EntailmentModel, EvidenceSpan, Signals, SupportResult,
                                   support_score)

__all__ = ["EntailmentModel", "EvidenceSpan", "Grounding", "SUPPORT_THRESHOLD", "SentenceCheck", "SentenceSpan",
           "Signals", "SupportResult", "VerifyReport", "citations_in", "makes_claim", "split_sentences",
           "strip_citations", "support_score", "verify_draft"]
