"""Review page: jargon, readability and style checks, the evaluation panel and peer review of a draft."""

import streamlit as st

from engine.corpus_access import visible_doc_ids
from engine.evaluate.workspace import evaluation_for_reader
from engine.evaluate.reviews import summarize_reviews
from engine.markup import prose_map
from engine.render import render_html
from pages import _review_parts as parts
from pages import _review_terms as terms
from pages._ui import get_settings, get_store, require_user

st.title("Review")
settings, store = get_settings(), get_store()
user = require_user()
state = st.session_state

# ---- which draft -------------------------------------------------------------------------------
articles = store.list_articles(user)
source = st.radio("Draft", ["Article", "Paste Markdown"], horizontal=True, key="review_source",
                  index=0 if articles else 1)
article_id = version = None
if source == "Article" and articles:
    by_id = {a.id: a for a in articles}
    ids = list(by_id)
    start = ids.index(state["article_id"]) if state.get("article_id") in by_id else 0
    article_id = st.selectbox("Article", ids, index=start, format_func=lambda i: by_id[i].title, key="review_article")
    state["article_id"] = article_id
    versions = store.list_versions(user, article_id)
    if not versions:
        st.info("This article has no saved text yet. Write it on the Write page first.")
        st.stop()
    by_version = {v.id: v for v in versions}
    if state.get("review_pending_version") in by_version:  # a definition was just saved as a new version
        state["review_version"] = state.pop("review_pending_version")
    version = by_version[st.selectbox("Version", list(by_version), key="review_version", format_func=lambda i:
                                      f"version {by_version[i].number} ({by_version[i].reason})")]
    origin, text = f"v{version.id}", version.markdown
else:
    text = st.text_area("Markdown draft", height=200, key="review_paste",
                        placeholder="# Title\n\nPaste a draft with [n] citations and a ## References section…")
    origin = "paste"
if state.get("review_origin") != (origin, text):  # a new draft: start from its text, forget edits
    state.update(review_origin=(origin, text), review_draft=text, review_ignored=[], review_assumed=[])
draft = state["review_draft"]
if not draft.strip():
    st.info("Pick an article or paste a Markdown draft to review it.")
    st.stop()

brief = store.get_brief(user, article_id) if article_id else None
# Inserting saves a new version only on top of the latest one, as its editor; otherwise it edits here only.
editable = (version is not None and version.id == versions[0].id and draft == text
            and store.can_edit(user, article_id))
assumed = [*terms.stored_ignored(store, user, article_id), *state["review_ignored"],
           *state["review_assumed"], *(brief.assumed_terms if brief else ())]
search, index, index_note = terms.corpus_search(settings, user)
checks = terms.checks_for(draft, assumed, brief.audience if brief else None, search, index)
stored = store.latest_evaluation(user, version.id) if version is not None else None
stored_data = stored.data if stored else None
if stored_data and by_id[article_id].owner != user.name:  # a shared article: the owner's sources stay theirs
    stored_data = evaluation_for_reader(stored_data, visible_doc_ids(index, user) if index is not None else set())
evaluation = state.get("review_evaluation", {}).get(origin) or stored_data
reviews = summarize_reviews(store.list_reviews(user, article_id)) if article_id else None
parts.summary_strip(evaluation, checks, reviews)

with st.sidebar:
    st.subheader("Style findings")
    counts = checks["style"].counts()
    if counts:
        st.dataframe({"kind": list(counts), "count": list(counts.values())}, hide_index=True)
    else:
        st.caption("No style findings.")

tab_draft, tab_terms, tab_read, tab_eval, tab_compare, tab_review = st.tabs(
    ["Draft", "Terms", "Readability", "Evaluation", "Compare versions", "Peer review"])


with tab_draft:
    claims = {c["offset"] for c in ((evaluation or {}).get("grounding") or {}).get("unsupported", [])}
    st.html(parts.LEGEND + parts.highlighted_draft_html(draft, checks, claims))
    if draft != text:
        st.caption("Edited here (definitions inserted). Save it from the Write page, or download it.")
        st.download_button("Download edited draft", draft, file_name="draft.md", key="download_draft")
with tab_terms:
    if notice := state.pop("review_notice", None):
        st.success(notice)
    terms.terms_panel(checks, settings=settings, store=store, user=user, article_id=article_id, editable=editable,
                      brief=brief, index=index, note=index_note)
with tab_read:
    chart = parts.readability_chart(checks["readability"])
    if chart is not None:
        st.altair_chart(chart)
    for note in checks["readability"].notes:
        st.caption(note)

with tab_eval:
    with_model = st.toggle("Include perplexity (loads the language model)", key="review_with_model")
    if st.button("Run evaluation", type="primary", key="run_evaluation"):
        evaluation = parts.run_evaluation(draft, settings, store, user, article_id, version, checks,
                                          with_model=with_model, saved=draft == text) or evaluation
        state.setdefault("review_evaluation", {})[origin] = evaluation
        st.rerun()  # the summary strip above shows the new figures
    if evaluation:
        parts.evaluation_panels(evaluation)
    else:
        st.caption("No evaluation yet for this draft.")

with tab_compare:
    if article_id is None or len(versions) < 2:
        st.caption("Comparison needs an article with two saved versions.")
    else:
        left, right = st.columns(2)
        a = left.selectbox("Version A", versions, index=1, format_func=lambda v: f"version {v.number}", key="cmp_a")
        b = right.selectbox("Version B", versions, index=0, format_func=lambda v: f"version {v.number}", key="cmp_b")
        ev_a, ev_b = store.latest_evaluation(user, a.id), store.latest_evaluation(user, b.id)
        if ev_a is None or ev_b is None:
            st.info("Run the evaluation on both versions first (pick each above and press Run evaluation).")
        else:
            st.dataframe(parts.comparison_table(ev_a.data, ev_b.data, (f"v{a.number}", f"v{b.number}")),
                         hide_index=True)

with tab_review:
    if article_id is None:
        st.caption("Peer review is stored with an article version: pick an article above.")
    else:
        sections = [s.title for s in prose_map(draft).sections if s.heading is not None]
        parts.review_form(store, user, article_id, version.id, sections)
        if reviews and reviews.count:
            st.altair_chart(parts.criteria_chart(reviews))
            st.dataframe([{"reviewer": r.reviewer, "version": r.version_id, **r.scores} for r in reviews.rows],
                         hide_index=True)
            st.write("Comments by section:", {s or "whole article": n for s, n in reviews.comment_sections.items()})
            for reviewer, section, comment in reviews.comments:
                # Rendered by the engine: a comment's remote image would otherwise load in the owner's browser.
                st.html(render_html(f"- **{reviewer}** on *{section or 'whole article'}*: {comment}", diagrams=None, mathml=False))
