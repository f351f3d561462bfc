"""The default model writes: real drafts from the bundled notes with Qwen2.5-Coder-1.5B-Instruct, strict mode on.

These are the tests that judge writing rather than plumbing, so they load the real default model
(`writer_llm`); each asserts what a reader would see go wrong: quoted reading-list items, sentences
without a verb, repeats, the model talking about its instructions, claims its sources do not back.
"""

from __future__ import annotations

import pytest

from engine.draft import sentence_key, write_article
from engine.evidence import index_retriever
from engine.llm import GenerationParams
from engine.records import Brief
from engine.verify import split_sentences
from engine.verify.sentences import states_something

pytestmark = pytest.mark.model

RAG = Brief(topic="How retrieval-augmented generation grounds language models",
            audience="ML engineers who know transformers but have not built a RAG system", length_words=360,
            key_points=("dense retrieval with DPR", "how RAG combines retriever and generator"))
PARAMS = GenerationParams(max_new_tokens=256, temperature=0.5, top_p=0.9, repetition_penalty=1.15, seed=7)


@pytest.fixture(scope="module")
def rag_article(writer_llm, embedder, default_index):
    return write_article(RAG, index_retriever(default_index), writer_llm, embedder, params=PARAMS, strict=True,
                         n_sections=3, documents={d.doc_id: d for d in default_index.list_documents()})


def _body_sentences(article) -> list[str]:
    return [s.text for d in article.sections for s in split_sentences(d.markdown)]


def test_the_default_model_writes_the_sections_itself(rag_article):
    sentences = _body_sentences(rag_article)
    quoted = sum(len(d.quoted) for d in rag_article.sections)
    assert len(sentences) >= 6, rag_article.markdown
    assert quoted / len(sentences) <= 0.3, "most of the article is the model's own prose, not quotes"
    assert all(d.fallback != "quoted" for d in rag_article.sections if d.heading.lower().startswith("how rag")), \
        rag_article.markdown


def test_no_debris_no_repeats_and_no_echoed_instructions(rag_article):
    sentences = _body_sentences(rag_article)
    assert all(states_something(s) for s in sentences), [s for s in sentences if not states_something(s)]
    keys = [sentence_key(s) for s in sentences]
    assert len(keys) == len(set(keys)), "no sentence appears twice in one article"
    text = rag_article.markdown.lower()
    assert "source number" not in text and "these rules" not in text and "- " not in rag_article.sections[1].markdown


def test_every_kept_claim_cites_a_source_that_supports_it(rag_article):
    for drafted in rag_article.sections:
        for check in drafted.report.sentences:
            if check.replacement == "":
                continue  # removed in strict mode: not in the article
            assert check.status in ("supported", "no_claim"), (check.text, check.status, check.reasons)
    assert "[1]" in rag_article.markdown and "## References" in rag_article.markdown
