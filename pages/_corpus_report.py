"""Corpus page part: what the reader found in one file (its parse report and parsed reference list)."""

from __future__ import annotations

import streamlit as st

from engine.bibliography import bibliography_bibtex


def parse_report_panel(index, doc_id: str) -> None:
    """The stored parse report of a document: counts, warnings, headings and the first reference entries."""
    stored = index.documents.get(doc_id)
    report = stored.report if stored else None
    if report is None:
        st.caption("No parse report (only PDFs get one; papers indexed before it existed need indexing again).")
        return
    st.caption(f"Read: {report.describe().split('; warning:')[0]}")
    for warning in report.warnings:
        st.warning(warning, icon=":material/report:")
    with st.expander(f"Structure: {len(report.headings)} headings, {len(stored.bibliography)} references"):
        st.markdown("\n".join(f"- {heading}" for heading in report.headings) or "_no headings found_")
        if stored.bibliography:
            st.dataframe([{"n": e.number, "authors": ", ".join(e.authors[:3]) + (" et al." if len(e.authors) > 3 else ""),
                           "title": e.title, "year": e.year, "venue": e.venue} for e in stored.bibliography],
                         hide_index=True, width="stretch", column_config={"year": st.column_config.NumberColumn(format="%d")})
            # The paper's own reference list as BibTeX: the works it cites, ready for the writer's bibliography.
            st.download_button("References (BibTeX)", bibliography_bibtex(stored.bibliography, doc_id),
                               file_name=f"{doc_id}-references.bib", mime="application/x-bibtex",
                               key=f"refs_bib_{doc_id}")
