"""Write page: brief → outline → evidence → streamed, verified sections → one editable article."""

import streamlit as st
import streamlit.components.v1 as components

from engine import draft as drafting
from engine import evidence as ev
from engine import plan
from engine.article_merge import merge_edits
from engine.corpus_access import visible_documents
from engine.errors import PeerDraftError
from engine.llm import GenerationParams
from engine.records import Brief
from engine.render import preview_document, render_html
from engine.verify.judge import judge_for
from pages import _write_parts as parts
from pages._ui import corpus_index, get_embedder, get_settings, get_store, llm_or_error, require_user

settings, state = get_settings(), st.session_state
user, store = require_user(), get_store()
st.title("Write")
if (index := corpus_index(settings)) is None:
    st.stop()
retriever = ev.index_retriever(index, user=user)  # shared corpus + this user's uploads
# Only what this user may read: the must-cite list, citations and BibTeX never name another writer's upload.
documents = {d.doc_id: d for d in visible_documents(index, user)}
for key, default in (("cards", {}), ("drafted", {}), ("outline_version", 0)):
    state.setdefault(key, default)
state.setdefault("citations", drafting.ArticleCitations(documents=documents))
if state.get("article_id") and state.get("loaded_article") != state.article_id:  # opened from the Library
    parts.open_article(store, user, index, retriever, documents)

with st.form("brief_form"):
    st.subheader("Brief")
    topic = st.text_input("Topic", key="topic", placeholder="Low-rank adaptation for fine-tuning LLMs")
    audience = st.text_input("Audience", value="ML/AI engineers and researchers", key="audience")
    left, right = st.columns(2)
    assumed = left.text_input("Terms they already know (comma-separated)", key="assumed")
    goal = right.text_input("Goal of the article", key="goal")
    length = left.number_input("Target length (words)", 100, 5000, 800, step=100, key="length")
    must = right.multiselect("Documents that must be cited", list(documents), key="must_cite",
                             format_func=lambda d: documents[d].title)
    points = st.text_area("Key points (one per line)", key="key_points", height=90)
    planned = st.form_submit_button("Plan outline", type="primary")
if planned and not topic.strip():
    st.error("Give the article a topic first.")
elif planned:
    state.brief = Brief(topic.strip(), audience, goal, int(length), tuple(x.strip() for x in points.splitlines()
                        if x.strip()), tuple(x.strip() for x in assumed.split(",") if x.strip()), tuple(must))
    refine = plan.model_can_plan(settings)
    with st.status("Planning the outline from your corpus…") as status:
        state.outline = plan.plan_outline(state.brief, retriever, llm=llm_or_error(settings) if refine else None,
                                          refine=refine)
        status.update(label="Outline ready", state="complete")
    parts.flush_pending(state.get("article_text"))  # the previous article keeps everything typed into it
    state.cards, state.drafted, state.stored_pins, state.outline_edited = {}, {}, {}, None
    state.section_index = 0  # a new outline starts at its first section
    state.pop("section_choice", None)
    state.outline_version += 1
    state.citations, state.loaded_article = drafting.ArticleCitations(documents=documents), None
    state.pop("article_id", None)  # a new plan is a new article
if "outline" not in state:
    st.stop()

brief = state.brief
outline = parts.outline_editor()
if not outline.sections:
    st.stop()
with st.expander("Planning notes (diagram suggestions)"):
    st.markdown("\n\n".join(f"**{s.heading}**\n\n{s.notes}" for s in outline.sections if s.notes))

st.subheader("Evidence and draft")
names = [s.heading for s in outline.sections]
# Streamlit forgets a widget's value while another page is shown; section_index remembers it.
i = st.selectbox("Section", range(len(names)), index=min(state.get("section_index", 0), len(names) - 1),
                 format_func=lambda n: names[n], key="section_choice")
state.section_index = i
section, words = outline.sections[i], plan.section_words(outline, brief)[i]
sid = section.id  # cards and drafts key on the section's id: they follow it through renames and moves
if st.button("Find evidence", key="find_evidence") or sid not in state.cards:
    kept = state.cards.get(sid) or state.get("stored_pins", {}).get(sid, [])  # pins saved with the article
    others = [(s, state.cards.get(s.id, [])) for s in outline.sections if s.id != sid]  # their passages give way
    state.cards[sid] = drafting.section_evidence(retriever, brief, section, others, previous=kept)
parts.evidence_cards(store, user, outline, brief, i)

strict = st.toggle("Strict mode: remove what the sources do not support", value=settings.strict, key="strict",
                   help="Unsupported sentences go back to the model once with the reasons; what still fails is "
                        "removed (shown flagged when off).")
instruction = st.text_input("Revise with an instruction", key="instruction",
                            placeholder="shorter · add an example · define KV cache")
go, revise, stop = st.columns(3)
draft_clicked = go.button("Draft section", type="primary", key="draft_section")
revise_clicked = revise.button("Revise", key="revise", disabled=sid not in state.drafted or not instruction)
stop.button("Stop", key="stop", help="Stops generation; the partial text is still verified.")
generated = False
if draft_clicked or revise_clicked:
    llm = llm_or_error(settings)
    if llm is None:
        st.stop()
    params = drafting.section_params(GenerationParams.from_settings(settings), words)
    cards, drafted = state.cards[sid], state.drafted
    common = dict(embedder=get_embedder(settings), citations=state.citations, strict=strict, words=words,
                  avoid=drafting.article_sentence_keys(d for n, d in drafted.items() if n != sid))

    def run(on_text, stop_event):
        nli = judge_for(settings, drafting=True)  # the verify_judge setting; None = the signals
        if revise_clicked:
            return drafting.revise_section(llm, section, drafted[sid], cards, brief, params, instruction, on_text,
                                           stop_event, nli=nli, **common)
        return drafting.draft_section(llm, section, cards, brief, params, on_text, stop_event, nli=nli, **common)

    try:
        st.caption("Model output (unverified):")
        st.write_stream(drafting.SectionStream(run, on_done=lambda result: drafted.__setitem__(sid, result)))
        generated = True
    except PeerDraftError as exc:
        st.error(str(exc))

done = state.drafted.get(sid)
if done is not None:
    checks = done.report.sentences if done.report else []
    flagged = [c for c in checks if c.status in ("unsupported", "uncited_claim", "replaced")]
    st.markdown(f"**Verified text** · {len(checks)} sentences, {len(flagged)} flagged or replaced"
                + (f" · fallback: {done.fallback}" if done.fallback else ""))
    st.html(render_html(done.markdown, diagrams=None, mathml=False))  # model text: no remote image may load from it
    if checks:
        st.dataframe([{"status": c.status, "score": round(c.score, 2) if c.score is not None else None,
                       "sentence": c.text, "replaced by": c.replacement} for c in checks],
                     width="stretch", hide_index=True, key=f"checks_{i}")

st.subheader("Article")
assembled = drafting.assemble_article(outline, {n: state.drafted[s.id] for n, s in enumerate(outline.sections)
                                                if s.id in state.drafted}, state.citations.references())
if state.get("assembled") != assembled:  # a new draft or outline change: saved first, hand edits carried over
    previous, current = state.get("assembled"), state.get("article_text")
    parts.flush_pending(current)
    state.assembled, state.article_md = assembled, merge_edits(previous, assembled, current) \
        if previous and current else assembled
elif "article_md" not in state:  # Streamlit forgets a widget's value while another page is shown
    state.article_md = state.get("article_text", assembled)
if (newer := parts.newer_saved_text(store, user)) is not None:
    state.article_md = newer
can_edit = parts.editable(store, user, state.get("article_id"))
edit_col, preview_col = st.columns(2)
markdown = state.article_text = edit_col.text_area("Markdown (editable)", key="article_md", height=520,
                                                   disabled=not can_edit)
with preview_col:  # an iframe: Streamlit's own HTML sanitizer would drop the MathML
    components.html(preview_document(markdown), height=520, scrolling=True)
try:
    if generated:
        parts.autosave_article(store, user, outline, brief, markdown, assembled, after_generation=True)
    parts.autosave_status(store, user, outline, brief, assembled)
    if st.button("Save", key="save", icon=":material/save:", disabled=not can_edit):
        version = parts.save_now(store, user, outline, brief, markdown)
        st.toast(f"Saved version {version.number}", icon=":material/check:")
except PeerDraftError as exc:
    st.error(str(exc))
parts.export_buttons(store, user, markdown, outline.title, documents.values())
