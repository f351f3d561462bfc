"""Rendering glue for the Review page: highlighted draft HTML, Altair charts, evaluation panels, review form."""

from __future__ import annotations

from html import escape

import altair as alt
import pandas as pd
import streamlit as st

from engine.check.jargon import highlight_spans
from engine.errors import PeerDraftError
from engine.evaluate.rubric import CRITERIA, CRITERION_LABELS
from pages._ui import get_embedder, get_index, llm_or_error

LEVEL_COLOURS = {"hard": "#fff3b0", "very hard": "#f8c4c4"}  # Hemingway's yellow and red
TERM_STYLE = "background:#cfe3ff;border-bottom:2px solid #3b73c4;padding:0 1px"
LEGEND = ("<small><mark style='background:#fff3b0'>hard sentence</mark> · "
          "<mark style='background:#f8c4c4'>very hard sentence</mark> · "
          f"<mark style='{TERM_STYLE}'>term not defined at first use</mark></small>")


def highlighted_draft_html(markdown: str, checks: dict, anchors: set[int] = frozenset()) -> str:
    """The draft as HTML: text escaped first, then <mark> spans from the checks' offsets (sentences by level, terms).

    `anchors` are draft offsets (e.g. unsupported claims) that get an `id='off-N'` target for drill-down links.
    """
    sentences = [(s.offset, s.offset + s.length, s.level) for s in checks["readability"].sentences if s.level != "ok"]
    terms = [(h.offset, h.offset + h.length, f"{h.term}: {h.status.replace('_', ' ')}")
             for h in highlight_spans(checks["jargon"]) if h.role == "first_use"]
    anchors = {a for a in anchors if 0 <= a < len(markdown)}
    cuts = sorted({0, len(markdown), *anchors,
                   *(p for a, b, _ in sentences + terms for p in (a, b) if 0 <= p <= len(markdown))})
    pieces = []
    for start, end in zip(cuts, cuts[1:]):
        text = escape(markdown[start:end])
        level = next((lv for a, b, lv in sentences if a <= start and end <= b), None)
        term = next((t for a, b, t in terms if a <= start and end <= b), None)
        if term is not None:
            text = f"<mark style='{TERM_STYLE}' title='{escape(term, quote=True)}'>{text}</mark>"
        if level is not None:
            text = f"<mark style='background:{LEVEL_COLOURS[level]}' title='{level} sentence'>{text}</mark>"
        pieces.append(f"<a id='off-{start}'></a>{text}" if start in anchors else text)
    return ("<div style='white-space:pre-wrap;font-family:Georgia,serif;line-height:1.6;max-height:32rem;"
            "overflow-y:auto;padding:.5rem;border:1px solid #ddd;border-radius:.4rem'>" + "".join(pieces) + "</div>")


def readability_chart(readability) -> alt.Chart | None:
    """Flesch-Kincaid grade per section as bars, with the audience's target band shaded."""
    rows = [{"section": s.title, "grade": s.scores.flesch_kincaid_grade, "placement": s.placement}
            for s in readability.sections if s.placement != "empty"]
    if not rows:
        return None
    band = pd.DataFrame([{"low": readability.target.min_grade, "high": readability.target.max_grade}])
    bars = alt.Chart(pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X("grade:Q", title="Flesch-Kincaid grade"), y=alt.Y("section:N", sort=None, title=None),
        color=alt.Color("placement:N", scale=alt.Scale(domain=["below", "in", "above"],
                                                        range=["#9ecae9", "#54a24b", "#e45756"])),
        tooltip=["section", "grade", "placement"])
    shade = alt.Chart(band).mark_rect(opacity=0.15, color="#54a24b").encode(x="low:Q", x2="high:Q")
    return shade + bars


def share_bars(rows: list[dict], x: str, y: str, title: str) -> alt.Chart:
    """Horizontal bars of a 0-1 share per row (per-section grounding, coverage)."""
    return alt.Chart(pd.DataFrame(rows)).mark_bar().encode(
        x=alt.X(f"{x}:Q", scale=alt.Scale(domain=[0, 1]), title=title), y=alt.Y(f"{y}:N", sort=None, title=None),
        tooltip=list(rows[0]))


def criteria_chart(summary) -> alt.Chart:
    """Each reviewer's score per criterion as points, and the average as a bar."""
    rows = [{"criterion": CRITERION_LABELS.get(k, k), "reviewer": r.reviewer, "score": v}
            for r in summary.rows for k, v in r.scores.items()]
    avg = [{"criterion": CRITERION_LABELS.get(k, k), "average": v} for k, v in summary.averages.items()]
    bars = alt.Chart(pd.DataFrame(avg)).mark_bar(opacity=0.35).encode(
        x=alt.X("average:Q", scale=alt.Scale(domain=[0, 5]), title="score (1-5)"), y=alt.Y("criterion:N", title=None))
    dots = alt.Chart(pd.DataFrame(rows)).mark_circle(size=90).encode(
        x="score:Q", y="criterion:N", color="reviewer:N", tooltip=["reviewer", "criterion", "score"])
    return bars + dots


def summary_strip(evaluation: dict | None, checks: dict, reviews) -> None:
    """The headline figures: grounding %, coverage, readability band, undefined terms, reviews."""
    r = checks["readability"]
    grade = r.overall.flesch_kincaid_grade
    cols = st.columns(5)
    g = (evaluation or {}).get("grounding")
    c = (evaluation or {}).get("coverage")
    cols[0].metric("Grounded claims", f"{g['percent']:.0f}%" if g else "–", help="Run evaluation to measure")
    cols[1].metric("Coverage", f"{100 * c['share']:.0f}%" if c else "–", help="key points and must-cite documents")
    cols[2].metric("Readability", f"grade {grade:.1f}", f"{r.target.place(grade)} band "
                   f"{r.target.min_grade:g}-{r.target.max_grade:g}", delta_color="off")
    cols[3].metric("Undefined terms", len(checks["jargon"].undefined))
    cols[4].metric("Reviews", reviews.count if reviews else 0,
                   f"avg {reviews.overall:.1f}" if reviews and reviews.overall else None, delta_color="off")


def evaluation_panels(ev: dict) -> None:
    """Charts and drill-down lists of one stored evaluation (the dict form of EvaluationReport)."""
    g = ev.get("grounding")
    if g:
        st.subheader("Grounding")
        st.caption(f"{g['claims']} claims · cited {100 * g['cited_share']:.0f}% · citation recall "
                   f"{100 * g['citation_recall']:.0f}% · citation precision {100 * g['citation_precision']:.0f}% · "
                   f"judged by {g.get('judge') or 'the signals only'}")
        if g["sections"]:
            st.altair_chart(share_bars(g["sections"], "share", "title", "supported share of claims"))
        for claim in g["unsupported"]:
            evidence = f"  \n  closest evidence: “{claim['evidence']}”" if claim.get("evidence") else ""
            st.markdown(f"- [{claim['status'].replace('_', ' ')}](#off-{claim['offset']}) · *{claim['section']}* · "
                        f"{claim['text']}  \n  <small>{'; '.join(claim['reasons'])}</small>{evidence}",
                        unsafe_allow_html=False)
    c = ev.get("coverage")
    if c and c["key_points"]:
        st.subheader("Coverage")
        st.dataframe(pd.DataFrame([{"key point": k["point"], "covered": k["covered"], "similarity": k["similarity"]}
                                   for k in c["key_points"]]), hide_index=True)
        if c["missing_docs"]:
            st.warning("Must-cite documents not cited: " + ", ".join(c["missing_docs"]))
    for key, title in (("copying", "Copying"), ("bias", "Bias and safety")):
        if ev.get(key):
            items = ev[key]["spans"] if key == "copying" else ev[key]["terms"] + ev[key]["personal_data"]
            st.subheader(title)
            st.caption("Nothing found." if not items else f"{len(items)} finding(s)")
            for item in items:
                st.markdown(f"- {item.get('message') or ('%d words from **%s**: %s' % (item['words'], item['title'], item['text']))}")
    p = ev.get("perplexity")
    if p:
        st.subheader("Perplexity")
        st.dataframe(pd.DataFrame(p["sections"]), hide_index=True)
        st.caption(p["explanation"])
    rubric = ev.get("rubric")
    if rubric:
        st.subheader("Model rubric")
        if rubric["available"]:
            st.dataframe(pd.DataFrame(rubric["scores"]), hide_index=True)
        else:
            st.info(rubric["note"])
    for note in ev.get("notes", []):
        st.caption(note)


COMPARE_FIGURES = (("Grounded claims %", ("grounding", "percent")), ("Cited share", ("grounding", "cited_share")),
                   ("Citation precision", ("grounding", "citation_precision")), ("Coverage", ("coverage", "share")),
                   ("Copied share", ("copying", "copied_share")), ("Perplexity", ("perplexity", "overall")))


def comparison_table(left: dict, right: dict, names: tuple[str, str]) -> pd.DataFrame:
    """Key figures of two evaluations side by side."""
    def pick(ev, path):
        value = ev
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return pd.DataFrame([{"figure": label, names[0]: pick(left, path), names[1]: pick(right, path)}
                         for label, path in COMPARE_FIGURES])


def review_form(store, user, article_id: int, version_id: int, sections: list[str]) -> None:
    """The peer-review form: five criteria 1-5 and a comment anchored to a section."""
    if st.session_state.pop("review_saved", False):
        st.toast("Review saved")
    with st.form("review_form", clear_on_submit=True):
        scores = {key: st.slider(label, 1, 5, 3, key=f"score_{key}", help=help_) for key, label, help_ in CRITERIA}
        section = st.selectbox("Comment on section", ["(whole article)", *sections], key="review_section")
        comment = st.text_area("Comment", key="review_comment")
        if st.form_submit_button("Submit review"):
            anchor = "" if section == "(whole article)" else section
            store.add_review(user, article_id, version_id, scores, [(anchor, comment.strip())] if comment.strip() else [])
            st.session_state["review_saved"] = True
            st.rerun()  # the summary strip above counts reviews: redraw it with this one


def run_evaluation(draft: str, settings, store, user, article_id, version, checks: dict, *, with_model: bool,
                   saved: bool) -> dict | None:
    """Run the evaluation inside st.status with a progress bar; store it with the version when it is the saved text."""
    from engine.evaluate.workspace import evaluate_with_settings, store_evaluation
    from engine.index import has_index

    with st.status("Evaluating the draft…", expanded=True) as status:
        bar = st.progress(0.0)
        try:
            index = get_index(settings) if has_index(settings.index_dir) else None
            report = evaluate_with_settings(
                draft, settings, embedder=get_embedder(settings), index=index, load_model=False,
                brief=store.get_brief(user, article_id) if article_id else None,
                llm=llm_or_error(settings) if with_model else None, user=user,
                on_event=lambda e: bar.progress(e.fraction or 0.0, text=e.message))
        except PeerDraftError as exc:
            status.update(label="Evaluation failed", state="error")
            st.error(str(exc))
            return None
        evaluation = report.to_dict()
        if version is not None and saved and store.can_edit(user, article_id):
            store_evaluation(store, user, article_id, version.id, report, checks)
        status.update(label="Evaluation done", state="complete", expanded=False)
    return evaluation
