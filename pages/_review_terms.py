"""The Review page's term list: corpus-grounded definition suggestions, insert / ignore / assume, glossary export.

Suggestions come from the shared corpus index (pages/_ui.get_index). Retrieved passages are cached
per query and index generation with st.cache_data, and the checks per draft in session state, so
a rerun of the same draft does not query the corpus again and an edit queries only new terms.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import streamlit as st

from engine.check import run_checks
from engine.check.definitions import insert_cited_definition
from engine.check.jargon import glossary
from engine.errors import NotFound, PeerDraftError
from engine.records import Brief

NO_INDEX = "The corpus index is not ready yet (open the Corpus page to build it): no definition suggestions."


@st.cache_data(show_spinner=False, max_entries=4096)
def _definition_passages(query: str, corpus_key: str, _index, _doc_ids: frozenset[str]):
    """Passages for one term (cached per corpus generation and reader: `corpus_key`)."""
    from engine.retrieve import retrieve_passages

    return retrieve_passages(_index, query, k=8, mode="hybrid", doc_ids=_doc_ids)


def corpus_search(settings, user):
    """(search function, index, note): suggestions search the index; without a usable one, (None, None, why)."""
    from engine.index import has_index

    if not has_index(settings.index_dir):
        return None, None, NO_INDEX
    from engine.corpus_access import visible_doc_ids
    from pages._ui import get_index

    try:
        index = get_index(settings)
    except PeerDraftError as exc:
        return None, None, f"The corpus index cannot be opened ({exc}): no definition suggestions."
    # The shared corpus and the reader's own uploads: another writer's private papers are never quoted.
    readable = frozenset(visible_doc_ids(index, user))
    corpus_key = f"{index.directory}:{index.generation}:{user.name}"
    return (lambda query: _definition_passages(query, corpus_key, index, readable)), index, ""


def checks_for(draft: str, assumed: list[str], audience: str | None, search, index) -> dict:
    """run_checks on the draft, memoised in session state per draft hash, assumed terms and corpus generation."""
    key = (hashlib.sha256(draft.encode()).hexdigest(), tuple(sorted(assumed)), audience,
           None if index is None else (str(index.directory), index.generation))
    memo = st.session_state.get("review_checks_memo")
    if memo is None or memo[0] != key:
        memo = (key, run_checks(draft, assumed_terms=assumed, search=search, audience=audience))
        st.session_state["review_checks_memo"] = memo
    return memo[1]


def stored_ignored(store, user, article_id: int | None) -> list[str]:
    """The article's stored ignore list ([] for a pasted draft)."""
    return [] if article_id is None else store.ignored_terms(user, article_id)


def _document(index, doc_id: str):
    try:
        return index.document(doc_id) if index is not None else None
    except NotFound:
        return None


def _model_definition(term, i: int, settings, audience: str | None) -> None:
    """An 'Ask the model' button; its answer is shown marked unverified and is never inserted for the writer."""
    from engine.check.definitions import model_definition
    from pages._ui import llm_or_error

    answers = st.session_state.setdefault("review_model_definitions", {})
    if term.key not in answers and st.button("Ask the model", key=f"ask_{i}",
                                             help="The language model's own words, not grounded in your corpus"):
        llm = llm_or_error(settings)
        if llm is None:
            return
        with st.spinner("Asking the model…"):
            answers[term.key] = model_definition(llm, term.term, **({"audience": audience} if audience else {}))
    if term.key in answers:
        if answers[term.key]:
            st.warning(f"Unverified (the model's words, not from your corpus): {answers[term.key]}")
        else:
            st.caption("The model does not know this term either.")


def terms_panel(checks: dict, *, settings, store, user, article_id, editable: bool, brief: Brief | None, index,
                note: str) -> None:
    """Each term to define: status, first use, suggestion with its source, and Insert / Ignore / Assume."""
    state = st.session_state
    jargon = checks["jargon"]
    st.caption(f"{len(jargon.undefined)} term(s) to define at first use.")
    if note:
        st.info(note)
    for i, term in enumerate(jargon.undefined):
        with st.expander(f"{term.term} · line {term.first_use_line} · {term.status.replace('_', ' ')}"):
            # The reader model's reason ("rare in general English and in ML writing; not defined at its
            # first use on line 40") says why the audience may need it and where.
            st.caption(f"Why flagged: {term.reason}." if term.reason else f"First used on line {term.first_use_line}.")
            suggestion = term.suggestion
            if suggestion:
                st.markdown(f"**Suggested definition:** {suggestion.text}")
                st.caption(f"Source: *{suggestion.title}*, page {suggestion.page}")
            else:
                if index is not None:
                    st.caption("No definition found in your corpus: write one yourself.")
                _model_definition(term, i, settings, audience=brief.audience if brief else None)
            insert, ignore, assume = st.columns(3)
            if suggestion and insert.button("Insert definition", key=f"insert_{i}", type="primary"):
                draft = insert_cited_definition(state["review_draft"], term, suggestion,
                                                _document(index, suggestion.doc_id))
                if editable:
                    saved = store.save_version(user, article_id, draft, reason="manual")
                    state["review_pending_version"] = saved.id  # review.py selects it before drawing the box
                    state["review_notice"] = f"Definition of {term.term} inserted: saved as version {saved.number}."
                else:
                    state["review_draft"] = draft
                st.rerun()
            if ignore.button("Ignore", key=f"ignore_{i}", help="Not flagged in this article again"):
                state["review_ignored"] = [*state["review_ignored"], term.term]
                if editable:
                    store.ignore_term(user, article_id, term.term)
                st.rerun()
            if assume.button("Assume", key=f"assume_{i}", help="The audience knows it: added to the brief's "
                             "assumed terms (also used when planning and drafting)"):
                if editable:
                    base = brief or Brief(topic=store.get_article(user, article_id).title)
                    store.save_brief(user, article_id, replace(base, assumed_terms=(*base.assumed_terms, term.term)))
                else:
                    state["review_assumed"] = [*state.get("review_assumed", []), term.term]
                st.rerun()
    if jargon.candidates:
        # The check's less sure terms: listed so a writer can look, never counted or highlighted (engine/check/jargon.py).
        with st.expander(f"Show all candidates ({len(jargon.candidates)}, less sure, not counted)"):
            for term in jargon.candidates:
                st.caption(f"{term.term} · line {term.first_use_line} · confidence {term.confidence:.2f}"
                           + (f" · {term.reason}" if term.reason else ""))
    if jargon.terms:
        md, csv = st.columns(2)
        md.download_button("Glossary (Markdown)", glossary(jargon), file_name="glossary.md", key="glossary_md")
        csv.download_button("Glossary (CSV)", glossary(jargon, "csv"), file_name="glossary.csv", key="glossary_csv")
