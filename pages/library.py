"""Library page: your articles (and those shared with you), their versions, diff, duplicate, delete, restore."""

from datetime import datetime

import streamlit as st

from engine.errors import PeerDraftError
from engine.export import DIFF_STYLE, diff_table_html
from pages._ui import get_settings, get_store, require_user

st.title("Library")
store = get_store()
user = require_user()


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def open_article(article_id: int) -> None:
    st.session_state["article_id"] = article_id
    st.switch_page("pages/write.py")


rows = store.library(user)
if not rows:
    st.info("No articles yet. Start one on the Write page; it is saved here as you type.")
else:
    st.dataframe(
        [{"Title": r.article.title, "Owner": r.article.owner, "Updated": when(r.article.updated_at),
          "Words": r.article.word_count,
          "Grounding %": None if r.grounding_percent is None else round(r.grounding_percent, 1),
          "Readability": r.readability_band} for r in rows],
        hide_index=True, use_container_width=True, key="library_table")
    by_id = {r.article.id: r.article for r in rows}
    chosen_id = st.selectbox("Article", list(by_id), key="library_article",
                             format_func=lambda i: f"{by_id[i].title} — {by_id[i].owner}, {when(by_id[i].updated_at)}")
    chosen = by_id[chosen_id]
    editable = store.can_edit(user, chosen.id)
    open_col, dup_col, del_col = st.columns(3)
    if open_col.button("Open", key="open", icon=":material/edit:", type="primary"):
        open_article(chosen.id)
    if dup_col.button("Duplicate", key="duplicate", icon=":material/content_copy:", disabled=not user.can_write):
        try:
            copy = store.duplicate_article(user, chosen.id)
            st.toast(f"Created “{copy.title}”.")
            st.rerun()
        except PeerDraftError as exc:
            st.error(str(exc))
    confirm_key = f"confirm_delete_{chosen.id}"
    if del_col.button("Delete", key="delete", icon=":material/delete:", disabled=not editable):
        st.session_state[confirm_key] = True
    if st.session_state.get(confirm_key):
        st.warning(f"Delete “{chosen.title}”? You can restore it from “Recently deleted” for 30 days.")
        yes, no = st.columns(2)
        if yes.button("Yes, delete", key="confirm_delete", type="primary"):
            store.delete_article(user, chosen.id)
            st.session_state.pop(confirm_key, None)
            st.toast(f"Deleted “{chosen.title}”.")
            st.rerun()
        if no.button("Cancel", key="cancel_delete"):
            st.session_state.pop(confirm_key, None)
            st.rerun()

    if editable and get_settings().mode == "team":
        with st.form("share", clear_on_submit=True, border=False):
            reviewer = st.text_input("Share with", placeholder="user name of a reviewer or writer")
            if st.form_submit_button("Share", icon=":material/share:") and reviewer.strip():
                try:
                    store.share_article(user, chosen.id, reviewer.strip())
                    st.success(f"Shared “{chosen.title}” with {reviewer.strip()}: they can read and review it.")
                except PeerDraftError as exc:
                    st.error(str(exc))

    st.subheader("Versions")
    versions = store.list_versions(user, chosen.id)
    if not versions:
        st.caption("No saved text yet.")
    else:
        st.dataframe([{"Version": v.number, "Saved": when(v.created_at), "Why": v.reason, "By": v.author,
                       "Words": len(v.markdown.split())} for v in versions],
                     hide_index=True, use_container_width=True, key="versions_table")
        by_number = {v.number: v for v in versions}
        numbers = list(by_number)
        pick = st.selectbox("Restore version", numbers, key="restore_pick", disabled=not editable)
        if st.button("Restore this version", key="restore_version", disabled=not editable or pick == numbers[0]):
            restored = store.restore_version(user, by_number[pick].id)
            st.toast(f"Version {pick} restored as version {restored.number}.")
            st.rerun()
        if len(numbers) > 1:
            left, right = st.columns(2)
            old = left.selectbox("Compare", numbers, index=1, key="diff_old")
            new = right.selectbox("with", numbers, index=0, key="diff_new")
            table = diff_table_html(by_number[old].markdown, by_number[new].markdown,
                                    f"version {old}", f"version {new}")
            st.html(DIFF_STYLE + table)

deleted = store.list_deleted_articles(user)
with st.expander(f"Recently deleted ({len(deleted)})"):
    if not deleted:
        st.caption("Nothing deleted recently.")
    for article in deleted:
        text_col, button_col = st.columns([4, 1])
        text_col.write(f"**{article.title}** — deleted {when(article.deleted_at)}")
        if button_col.button("Restore", key=f"undelete_{article.id}", icon=":material/restore_from_trash:"):
            store.restore_article(user, article.id)
            st.toast(f"Restored “{article.title}”.")
            st.rerun()
