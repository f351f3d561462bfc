"""Math in a draft is not prose: no words counted, no sentences split out of it, no jargon terms found in it."""

from __future__ import annotations

from engine.check import run_checks
from engine.markup import prose_map, split_sentences

DRAFT = r"""# Retrieval, with math

The retriever scores a query $q$ against a passage with $\mathbf{E}_Q(q)^\top \mathbf{E}_P(p)$ [1].

$$
\begin{aligned}
p(y \mid x) &= \sum_{z} p_\eta(z \mid x)\, p_\theta(y \mid x, z) \\
\mathrm{Softmax} &= \text{Normalized Exponential Weights}
\end{aligned}
$$

\begin{equation}
\mathcal{L}_{\mathrm{DPR}} = -\log \frac{e^{\mathrm{sim}(q, p^+)}}{\sum_j e^{\mathrm{sim}(q, p_j)}}. \text{Contrastive Loss Objective.}
\end{equation}

\[ \text{Marginal Likelihood} = \sum_z p(z) \]

The loss pulls the right passage closer.

## References

[1] Karpukhin, V. (2020). Dense Passage Retrieval for Open-Domain Question Answering. EMNLP.
"""


def test_display_math_and_bare_environments_are_left_out_of_the_prose():
    text = prose_map(DRAFT).text
    for fragment in ("aligned", "Normalized", "mathcal", "Contrastive", "Marginal", "\\sum", "$"):
        assert fragment not in text, fragment
    assert "The loss pulls the right passage closer." in text


def test_no_sentence_to_verify_is_made_of_math():
    sentences = [s.text for s in split_sentences(DRAFT)]
    assert sentences[-1] == "The loss pulls the right passage closer."
    assert not [s for s in sentences if "\\begin" in s or "\\end" in s or s.startswith(("$$", "\\["))], sentences


def test_words_inside_math_are_never_jargon_terms():
    as_prose = run_checks("# T\n\nThe model minimises a Contrastive Loss Objective over DPR retrievals.\n")
    assert "dpr" in " ".join(t.term for t in as_prose["jargon"].terms).lower()  # flagged as prose
    report = run_checks(DRAFT)
    terms = " ".join(t.term for t in report["jargon"].terms).lower()
    for word in ("softmax", "normalized exponential", "contrastive loss", "marginal likelihood", "dpr"):
        assert word not in terms, terms
