"""Corpus page part: import metadata from a Zotero export (BibTeX or CSL JSON) into the documents it matches."""

from __future__ import annotations

import streamlit as st

from engine import corpus_access as access
from engine.errors import PeerDraftError
from engine.ingest_bib import import_bibliography


def bibliography_import(index, user) -> None:
    """An uploader for a .bib / CSL .json file, an Import button, and what happened to each entry."""
    with st.expander("Import metadata from Zotero (BibTeX or CSL JSON)"):
        st.caption("Entries fill or correct the title, authors, year, venue, arXiv id and DOI of the documents they "
                   "match by DOI, arXiv id or title; the reference list and BibTeX export then use them. "
                   "In Zotero: right-click a collection → Export Collection… → BibTeX or CSL JSON.")
        with st.form("bib_import", clear_on_submit=True):
            upload = st.file_uploader("Bibliography file", type=["bib", "bibtex", "json"], key="bib_file",
                                      disabled=not access.can_upload(user))
            dry_run = st.checkbox("Only show what would change", key="bib_dry_run")
            submitted = st.form_submit_button("Import", icon=":material/library_books:",
                                              disabled=not access.can_upload(user))
        if submitted and upload is not None:
            try:
                report = import_bibliography(index, user, upload.getvalue(), upload.name, dry_run=dry_run)
            except PeerDraftError as exc:
                st.error(str(exc))
                return
            st.session_state["bib_report"] = (("Dry run: " if dry_run else "") + report.summary(), [
                {"entry": m.entry.key or m.entry.title, "outcome": m.outcome, "matched by": m.matched_by,
                 "document": m.document.title if m.document else "", "detail": m.message} for m in report.matches])
        if "bib_report" in st.session_state:
            summary, rows = st.session_state["bib_report"]
            st.success(summary)
            st.dataframe(rows, hide_index=True, width="stretch")
