"""Write page parts: the article in the workspace (create, autosave, pins) and its evidence cards and exports."""

from __future__ import annotations

import time
from functools import partial

import streamlit as st

from engine import autosave, export, pins, plan, publish
from engine import draft as drafting
from engine import evidence as ev
from engine.errors import NotFound, PeerDraftError
from engine.records import Brief, Outline

AUTOSAVE_TICK_S = 2.0  # how often the page looks for a pause in editing while nobody clicks anything


# ---- the article in the workspace ------------------------------------------------------------------
def editable(store, user, article_id: int | None) -> bool:
    """Whether this user may change the open article (a new one: whether they may write at all)."""
    try:
        return user.can_write if article_id is None else store.can_edit(user, article_id)
    except NotFound:  # deleted meanwhile (another tab, the Library): nothing to save into
        return False


def ensure_article(store, user, outline: Outline, brief: Brief) -> int:
    """The open article's id; a new article (brief, outline, pinned cards) is created in the store first."""
    state = st.session_state
    if state.get("article_id") is None:
        article_id = store.create_article(user, outline.title, brief).id
        store.save_outline(user, article_id, outline)
        pins.save_pins(store, user, article_id, state.get("cards", {}))
        state.article_id = state.loaded_article = article_id
    return state.article_id


def autosaver(store, user, article_id: int) -> autosave.Autosaver:
    """This session's Autosaver for the open article (a new one when the article or the user changed)."""
    saver = st.session_state.get("autosaver")
    if saver is None or saver.article_id != article_id or saver.user.id != user.id:
        saver = autosave.Autosaver(store, user, article_id, interval_s=autosave.INTERVAL_S,
                                   quiet_s=autosave.QUIET_S, max_wait_s=autosave.MAX_WAIT_S)
        st.session_state.autosaver = saver
    return saver


def newer_saved_text(store, user) -> str | None:
    """Text of a version saved elsewhere (Review, a Library restore) since this page last saved, or None.

    Only while the editor holds no unsaved changes: the writer's own typing is never replaced."""
    state = st.session_state
    saver, text = state.get("autosaver"), state.get("article_md", state.get("article_text"))
    if saver is None or text is None or saver.article_id != state.get("article_id") or saver.is_dirty(text):
        return None
    try:
        latest = store.latest_version(user, saver.article_id)
    except NotFound:
        return None
    if latest is None or (saver.last_version is not None and latest.id == saver.last_version.id):
        return None
    saver.adopt(latest)
    return latest.markdown


def flush_pending(text: str | None) -> None:
    """Save what the writer typed into the open article before the page replaces or leaves it."""
    saver = st.session_state.get("autosaver")
    if saver is None or text is None or saver.article_id != st.session_state.get("loaded_article"):
        return  # the text on screen is not that saver's article
    try:
        saver.flush(text)
    except PeerDraftError as exc:
        st.error(f"Your last edits could not be saved: {exc}")


def keep_unsaved_work(store, user) -> None:
    """Save the editor's text into the open article (created first when it is new work) before the session
    is cleared at sign-out; nothing is written when the text on screen is not that article's."""
    state = st.session_state
    text, outline, brief = state.get("article_text"), state.get("outline_edited") or state.get("outline"), \
        state.get("brief")
    if text is None or outline is None or brief is None or not outline.sections:
        return
    if state.get("article_id") is not None and state.get("article_id") != state.get("loaded_article"):
        return  # the Library picked another article: the editor still shows the previous one
    if state.get("article_id") is None and text == state.get("assembled"):
        return  # only the planned skeleton: nothing of the writer's to keep
    if editable(store, user, state.get("article_id")):
        autosaver(store, user, ensure_article(store, user, outline, brief)).flush(text, outline=outline)


def autosave_article(store, user, outline: Outline, brief: Brief, text: str, assembled: str, *,
                     after_generation: bool = False) -> None:
    """Autosave the article text when due; a new article is created once there is work in it."""
    state = st.session_state
    if not editable(store, user, state.get("article_id")):
        return
    if state.get("article_id") is None and not after_generation and text == assembled:
        return  # only the planned skeleton so far: nothing of the writer's to keep yet
    saver = autosaver(store, user, ensure_article(store, user, outline, brief))
    saver.maybe_save(text, after_generation=after_generation, outline=outline)


def autosave_status(store, user, outline: Outline, brief: Brief, assembled: str) -> None:
    """'Saved HH:MM:SS' under the editor; while edits are unsaved a timer reruns it to save them after a pause.

    The timer runs only then: a fragment rerunning every few seconds would otherwise keep the page busy."""
    state = st.session_state
    text, saver = state.get("article_md", state.get("article_text")), state.get("autosaver")
    ours = saver is not None and saver.article_id == state.get("article_id")
    new_work = state.get("article_id") is None and text != assembled
    pending = text is not None and (saver.is_dirty(text) if ours else new_work)
    panel = st.fragment(_autosave_status, run_every=AUTOSAVE_TICK_S if pending else None)
    panel(store, user, outline, brief, assembled)


def _autosave_status(store, user, outline: Outline, brief: Brief, assembled: str) -> None:
    state = st.session_state
    text = state.get("article_md", state.get("article_text"))
    if text is None:
        return
    try:
        autosave_article(store, user, outline, brief, text, assembled)
    except PeerDraftError as exc:
        st.error(str(exc))
        return
    saver = state.get("autosaver")
    if not editable(store, user, state.get("article_id")):
        st.caption(":material/lock: Read only: shared with you for review.")
    elif saver is None or saver.article_id != state.get("article_id"):
        st.caption("Not saved yet: the article is saved once you draft, edit or pin.")
    elif saver.is_dirty(text):
        st.caption(":material/edit: Unsaved changes: autosaved after a pause of a few seconds.")
    elif saver.last_version is not None:
        saved = time.strftime("%H:%M:%S", time.localtime(saver.last_version.created_at))
        st.caption(f":material/cloud_done: Saved {saved} · version {saver.last_version.number}")


def open_article(store, user, index, retriever, documents) -> None:
    """Load the article the Library opened: brief, outline, latest text, and its pins for the evidence cards."""
    state = st.session_state
    flush_pending(state.get("article_text"))
    article_id = state.article_id
    latest = store.latest_version(user, article_id)
    state.stored_pins = pins.stored_cards(store, user, article_id, index)
    state.cards, state.drafted, state.outline_edited, state.section_index = {}, {}, None, 0
    state.pop("section_choice", None)  # an opened article starts at its first section
    state.loaded_article, state.citations = article_id, drafting.ArticleCitations(documents=documents)
    state.brief = store.get_brief(user, article_id) or Brief(store.get_article(user, article_id).title)
    state.outline = store.get_outline(user, article_id) or plan.plan_outline(state.brief, retriever)
    state.assembled = drafting.assemble_article(state.outline, {}, [])
    state.article_md = state.article_text = latest.markdown if latest else state.assembled
    state.outline_version += 1


def save_now(store, user, outline: Outline, brief: Brief, text: str):
    """The Save button: the outline and a 'manual' version (the latest one, marked manual, when autosave
    already has this text)."""
    saver = autosaver(store, user, ensure_article(store, user, outline, brief))
    store.save_outline(user, saver.article_id, outline)
    version = saver.flush(text, reason="manual", outline=outline)
    if version is None:  # autosave already holds this text: the store marks that version 'manual'
        version = store.save_version(user, saver.article_id, text, reason="manual", outline=outline)
    return version


# ---- the outline table ------------------------------------------------------------------------------
def outline_editor() -> Outline:
    """The editable outline table (heading, kind, purpose, query; *order* moves a row); returns the edited outline.

    Each row carries its section's id unseen, so a section renamed, moved or given another kind keeps its
    pins, cards and draft."""
    state = st.session_state
    st.subheader("Outline")
    st.caption("Edit headings, kinds and purposes; add or delete rows; change *order* to move a section.")
    if f"outline_{state.outline_version}" not in state and state.get("outline_edited") is not None:
        state.outline = state.outline_edited  # the table forgot its edits while another page was shown
    rows = [dict(order=i + 1, **row) for i, row in enumerate(plan.outline_rows(state.outline))]
    edited = st.data_editor(rows, num_rows="dynamic", width="stretch", key=f"outline_{state.outline_version}",
                            column_order=("order", "heading", "kind", "purpose", "query"),
                            column_config={"order": st.column_config.NumberColumn(width="small"),
                                           "kind": st.column_config.SelectboxColumn(
                                               options=list(plan.KIND_LABELS.values()), default="Core",
                                               required=True, help="What the section does; it decides how it "
                                                                   "is drafted.")})
    edited = sorted(edited, key=lambda r: r.get("order") or len(edited) + 1)
    state.outline_edited = plan.outline_from_rows(state.outline, edited)
    return state.outline_edited


# ---- evidence pins -----------------------------------------------------------------------------------
def set_pin(store, user, outline: Outline, brief: Brief, i: int, card: ev.EvidenceCard, *, pinned: bool | None = None,
            dropped: bool | None = None) -> None:
    """Pin/unpin or drop/restore a card of section i; pins and drops are kept in the store with the article."""
    state, section_id = st.session_state, outline.sections[i].id
    if pinned is not None:
        state.cards[section_id] = ev.pin(state.cards[section_id], card.chunk_id, pinned)
    if dropped is not None:
        state.cards[section_id] = ev.drop(state.cards[section_id], card.chunk_id, dropped)
    if not editable(store, user, state.get("article_id")):
        return
    now = next(c for c in state.cards[section_id] if c.chunk_id == card.chunk_id)
    if (now.pinned, now.dropped) == (card.pinned, card.dropped):
        return
    if state.get("article_id") is None:
        ensure_article(store, user, outline, brief)  # writes every pinned or dropped card, this one included
    else:
        pins.save_card_state(store, user, state.article_id, section_id, now)


def evidence_cards(store, user, outline: Outline, brief: Brief, i: int) -> None:
    """The cards of section i with their Pin and Drop buttons."""
    for card in st.session_state.cards[outline.sections[i].id]:
        p = card.passage
        with st.container(border=True):
            head, pin_col, drop_col = st.columns([6, 1, 1])
            head.markdown(f"**{p.title}** · {p.section} · p. {p.page}" + (" · :blue[pinned]" if card.pinned else "")
                          + (" · :gray[dropped]" if card.dropped else ""))
            if card.flagged:
                st.warning("Possible prompt injection: " + "; ".join(f.message for f in card.findings),
                           icon=":material/gpp_maybe:")
            st.caption(p.text[:600])
            try:
                if pin_col.button("Unpin" if card.pinned else "Pin", key=f"pin_{i}_{p.chunk_id}"):
                    set_pin(store, user, outline, brief, i, card, pinned=not card.pinned)
                    st.rerun()
                if drop_col.button("Restore" if card.dropped else "Drop", key=f"drop_{i}_{p.chunk_id}"):
                    set_pin(store, user, outline, brief, i, card, dropped=not card.dropped)
                    st.rerun()
            except PeerDraftError as exc:
                st.error(str(exc))


# ---- exports ---------------------------------------------------------------------------------------
def export_buttons(store, user, markdown: str, title: str, documents) -> None:
    """Download buttons: Markdown with references, sanitized HTML, BibTeX, and the evaluation report if any.

    A stored article is exported through the store (which checks the user may read it) under its stored title.
    """
    article_id = st.session_state.get("article_id")
    try:
        files = (export.article_export_files(store, user, article_id, markdown, documents) if article_id
                 else export.export_files(markdown, title=title, documents=documents))
    except PeerDraftError as exc:
        st.error(str(exc))
        return
    st.caption("Download")
    for column, file in zip(st.columns(len(files)), files):
        column.download_button(file.label, file.text, file_name=file.file_name, mime=file.mime,
                               key=f"download_{file.kind}", on_click="ignore", disabled=not file.text.strip(),
                               width="stretch")
    stem = files[0].file_name.rsplit(".", 1)[0]
    for column, fmt in zip(st.columns(len(publish.FORMATS) + 2)[:len(publish.FORMATS)], publish.FORMATS):
        missing = publish.missing_tool(fmt)
        # Made when clicked (pandoc or Chromium takes a few seconds), not on every rerun.
        column.download_button(publish.LABELS[fmt], partial(publish.file_bytes, markdown, fmt, title=title,
                                                             documents=tuple(documents)),
                               file_name=f"{stem}.{fmt}", mime=publish.MIME[fmt], key=f"download_{fmt}",
                               on_click="ignore", disabled=bool(missing) or not markdown.strip(), help=missing,
                               width="stretch")
        if missing:
            column.caption(missing)
