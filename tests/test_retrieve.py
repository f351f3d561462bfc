"""Retrieve stage: dense, BM25 and hybrid search find the right document; filters, MMR and highlighting."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.index import index_paths, open_index
from engine.retrieve import highlight_terms, retrieve_passages
from engine.settings import load_settings

pytestmark = pytest.mark.model

NOTES = {
    "checkpointing": ("Gradient Checkpointing", "Activation recomputation saves accelerator memory during training. "
                      "Instead of storing every intermediate activation for the backward pass, only a few layer "
                      "outputs are kept and the rest are recomputed, trading roughly one extra forward pass for "
                      "memory that grows with the square root of depth."),
    "speculative": ("Speculative Decoding", "A small draft model proposes several tokens and the large model "
                    "verifies them in a single forward pass. Accepted tokens are kept, so generation becomes faster "
                    "while the output distribution stays exactly that of the large model."),
    "moe": ("Sparse Mixture of Experts", "A router sends each token to one or two expert feed-forward networks. "
            "Parameter count grows with the number of experts while the compute per token stays nearly constant; "
            "a load-balancing loss keeps the router from collapsing onto a single expert."),
    "tokenizer": ("Byte-Pair Encoding", "Subword vocabularies are built by repeatedly merging the most frequent "
                  "adjacent pair of symbols. Rare words split into known pieces, so the model never meets an "
                  "out-of-vocabulary word."),
    "bleu": ("BLEU", "Machine translation output is scored by modified n-gram precision against reference "
             "translations, combined as a geometric mean and multiplied by a brevity penalty for short outputs."),
}


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("retrieve")
    papers = root / "papers"
    papers.mkdir()
    for stem, (title, body) in NOTES.items():
        (papers / f"{stem}.md").write_text(f"---\ntitle: {title}\nyear: 2021\n---\n## Summary\n\n{body}\n")
    settings = load_settings(env={"PEERDRAFT_DATA_DIR": str(root / "data")}, toml_path=root / "none.toml")
    built = open_index(settings, embedder)
    index_paths(built, [papers], settings)
    return built


def stem_of(passage) -> str:
    return passage.doc_id.rsplit("-", 1)[0]


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
@pytest.mark.parametrize("query, expected", [
    ("recompute activations to fit a deeper network in memory", "checkpointing"),
    ("draft model proposes tokens that the big model verifies", "speculative"),
    ("router load balancing across experts", "moe"),
])
def test_each_mode_ranks_the_relevant_document_first(index, mode, query, expected):
    passages = retrieve_passages(index, query, k=3, mode=mode)
    assert passages and stem_of(passages[0]) == expected


def test_dense_search_matches_meaning_without_shared_words(index):
    passages = retrieve_passages(index, "how is translation quality evaluated automatically", k=1, mode="dense")
    assert stem_of(passages[0]) == "bleu"


def test_passages_carry_the_metadata_a_citation_needs(index):
    passage = retrieve_passages(index, "subword vocabulary merges", k=1)[0]
    assert passage.title == "Byte-Pair Encoding" and passage.year == 2021
    assert passage.section == "Summary" and passage.page == 1
    body = index.documents[passage.doc_id].body
    assert body[passage.start:passage.end] == passage.text


def test_document_filter_restricts_every_mode(index):
    bleu_id = next(d.doc_id for d in index.list_documents() if d.title == "BLEU")
    for mode in ("dense", "bm25", "hybrid"):
        passages = retrieve_passages(index, "tokens experts memory", k=5, mode=mode, doc_ids=[bleu_id])
        assert {p.doc_id for p in passages} <= {bleu_id}


def test_mmr_returns_k_distinct_passages(index):
    plain = retrieve_passages(index, "model", k=4, mode="hybrid")
    diverse = retrieve_passages(index, "model", k=4, mode="hybrid", mmr=True)
    assert len(diverse) == len(plain) == 4
    assert len({p.chunk_id for p in diverse}) == 4


def test_scores_are_ordered_best_first(index):
    for mode in ("dense", "bm25", "hybrid"):
        scores = [p.score for p in retrieve_passages(index, "memory", k=5, mode=mode)]
        assert scores == sorted(scores, reverse=True)


def test_empty_query_or_unknown_mode(index):
    assert retrieve_passages(index, "   ", k=3) == []
    assert retrieve_passages(index, "the of and", k=3, mode="bm25") == []
    with pytest.raises(ConfigError, match="hybrid, dense or bm25"):
        retrieve_passages(index, "x", mode="sparse")


def test_highlight_terms_marks_query_words_by_stem_and_skips_stopwords():
    text = "The routers route tokens; routing is learned."
    spans = highlight_terms(text, "the router routing")
    assert [text[s:e] for s, e in spans] == ["routers", "route", "routing"]
    assert highlight_terms(text, "of the") == []


def test_fusion_ranks_a_chunk_both_lists_agree_on_first_and_rejects_unknown_methods():
    from engine.retrieve import fuse_rankings

    dense = [(1, 0.9), (2, 0.5), (3, 0.1)]
    bm25 = [(1, 12.0), (3, 11.0), (4, 2.0)]
    for fusion in ("rrf", "convex"):
        fused = fuse_rankings(dense, bm25, fusion=fusion)
        assert fused[0][0] == 1 and {vid for vid, _ in fused} == {1, 2, 3, 4}
    convex = dict(fuse_rankings(dense, bm25, fusion="convex", alpha=0.5))
    assert convex[1] == pytest.approx(1.0) and convex[3] == pytest.approx(0.5 * 0 + 0.5 * 0.9)
    with pytest.raises(ConfigError, match="rrf or convex"):
        fuse_rankings(dense, bm25, fusion="sum")
