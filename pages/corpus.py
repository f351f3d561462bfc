"""Corpus page: add papers, see and edit what is indexed, delete, and search passages."""

from __future__ import annotations

import html

import streamlit as st

from engine import corpus_access as access
from engine.errors import PeerDraftError
from engine.evidence import index_retriever
from engine.ingest import KINDS
from engine.retrieve import MODES, highlight_terms
from pages._corpus_bib import bibliography_import
from pages._corpus_report import parse_report_panel
from pages._ui import corpus_index, get_settings, progress_reporter, require_user

st.title("Corpus")
st.caption("The papers your articles are grounded in. Passages found here are what the writer may cite.")
settings = get_settings()
user = require_user()
index = corpus_index(settings)
if index is None:
    st.stop()
team = settings.mode == "team"


def highlighted_html(text: str, query: str) -> str:
    """The passage as escaped HTML with the query's words wrapped in <mark>."""
    pieces, cursor = [], 0
    for start, end in highlight_terms(text, query):
        pieces += [html.escape(text[cursor:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        cursor = end
    pieces.append(html.escape(text[cursor:]))
    return "".join(pieces)


# ---- add papers ---------------------------------------------------------------------------------
with st.expander("Add papers", expanded=not index.documents and access.can_upload(user)):
    if not access.can_upload(user):
        st.info("Reviewers read and search the corpus; writers and admins add papers.")
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(f"PDF, Markdown, text or HTML (up to {settings.max_upload_mb} MB each)",
                                 type=sorted(k.lstrip(".") for k in KINDS), accept_multiple_files=True,
                                 key="corpus_files", disabled=not access.can_upload(user))
        shared = None
        if team and user.is_admin:
            shared = st.toggle("Add to the shared team corpus", value=True, key="corpus_shared",
                               help="Off: the papers stay private to you.")
        elif team:
            st.caption("Your uploads are private to you; the shared team corpus is managed by admins.")
        submitted = st.form_submit_button("Add to corpus", icon=":material/upload:",
                                          disabled=not access.can_upload(user))
    if submitted and files:
        with st.status(f"Indexing {len(files)} file(s)…", expanded=True) as status:
            try:
                report = access.upload(index, user, [(f.name, f.getvalue()) for f in files], settings,
                                       progress_reporter(status), shared=shared)
            except PeerDraftError as exc:
                status.update(label="Indexing failed", state="error")
                st.error(str(exc))
            else:
                st.session_state["last_report"] = [
                    (o.status, o.line() + (f" — {o.ingested.report.describe()}" if o.ingested and o.ingested.report
                                           else "")) for o in report.outcomes]
                failed = bool(report.with_status("error"))
                status.update(label=report.summary(), state="error" if failed else "complete", expanded=failed)
    for state, line in st.session_state.get("last_report", []):
        {"ok": st.success, "duplicate": st.info}.get(state, st.error)(line)

bibliography_import(index, user)

# ---- documents ----------------------------------------------------------------------------------
documents = access.visible_documents(index, user)
st.subheader(f"Documents ({len(documents)})")
st.dataframe(
    [{"title": d.title, "authors": d.short_authors() if d.authors else "", "year": d.year, "kind": d.kind,
      "chunks": index.chunk_count(d.doc_id), "status": "indexed"}
     | ({"corpus": "shared" if d.owner == access.SHARED else "mine"} if team else {}) | {"id": d.doc_id}
     for d in documents],
    hide_index=True, width="stretch",
    column_config={"year": st.column_config.NumberColumn(format="%d")})

if documents:
    labels = {d.doc_id: f"{d.title} ({d.year or 'n.d.'})" for d in documents}
    chosen = st.selectbox("Document", list(labels), format_func=labels.get, key="corpus_doc")
    doc = access.readable_document(index, user, chosen)
    manageable = access.can_manage(user, doc)
    if not manageable:
        st.caption("This paper is in the shared team corpus; only admins edit or delete it.")
    edit, delete = st.columns([3, 1])
    with edit.form(f"meta-{chosen}"):
        title = st.text_input("Title", doc.title)
        authors = st.text_input("Authors (separated by ; or ,)", "; ".join(doc.authors))
        year_col, venue_col, arxiv_col = st.columns(3)
        year = year_col.text_input("Year", str(doc.year or ""))
        venue = venue_col.text_input("Venue", doc.venue)
        arxiv = arxiv_col.text_input("arXiv id", doc.arxiv_id)
        if st.form_submit_button("Save metadata", icon=":material/save:", disabled=not manageable):
            try:
                access.update_metadata(index, user, chosen, title=title, authors=authors.replace(";", ","), year=year,
                                      venue=venue, arxiv_id=arxiv)
            except PeerDraftError as exc:
                st.error(str(exc))
            else:
                st.toast("Metadata saved")
                st.rerun()
    parse_report_panel(index, chosen)
    with delete:
        st.write(f"{index.chunk_count(chosen)} chunks · {doc.source_name}")
        if st.button("Delete…", key=f"delete-{chosen}", icon=":material/delete:", disabled=not manageable):
            st.session_state["confirm_delete"] = chosen
        if st.session_state.get("confirm_delete") == chosen:
            st.warning("Delete this document and its passages from the index?")
            yes, no = st.columns(2)
            if yes.button("Delete", type="primary", key="confirm_yes"):
                try:
                    access.remove_document(index, user, chosen)
                except PeerDraftError as exc:
                    st.error(str(exc))
                else:
                    st.toast(f"Deleted {doc.title}")
                st.session_state.pop("confirm_delete", None)
                st.rerun()
            if no.button("Cancel", key="confirm_no"):
                st.session_state.pop("confirm_delete", None)
                st.rerun()

# ---- search -------------------------------------------------------------------------------------
st.subheader("Search passages")
query_col, mode_col, k_col = st.columns([4, 1, 1])
query = query_col.text_input("Query", placeholder="e.g. how much memory does 4-bit fine-tuning save?",
                             key="corpus_query")
mode = mode_col.selectbox("Mode", MODES, key="corpus_mode")
k = k_col.number_input("Passages", 1, 30, 8, key="corpus_k")
diverse = st.toggle("Diversify (MMR)", key="corpus_mmr")
if query.strip():
    passages = index_retriever(index, mode=mode, mmr=diverse, user=user)(query, k=int(k))
    if not passages:
        st.info("No matching passages.")
    for rank, p in enumerate(passages, start=1):
        with st.container(border=True):
            where = f"p. {p.page}" + (f" · {p.section}" if p.section else "")
            st.markdown(f"**{rank}. {p.title}** ({p.year or 'n.d.'}) · {where} · score {p.score:.3f}")
            st.html(f"<div style='line-height:1.5'>{highlighted_html(p.text, query)}</div>")
            st.caption(f"{', '.join(p.authors) or 'Unknown authors'} · `{p.chunk_id}`")
