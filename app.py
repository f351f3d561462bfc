"""PeerDraft: the Streamlit entry point. Builds navigation; every page is a thin layer over engine/."""

import streamlit as st

from pages._ui import get_settings

st.set_page_config(page_title="PeerDraft", page_icon=":material/edit_note:", layout="wide")
settings = get_settings()

PAGES = {
    "Write": [
        st.Page("pages/write.py", title="Write", icon=":material/edit:", default=True),
        st.Page("pages/review.py", title="Review", icon=":material/fact_check:"),
    ],
    "Sources": [st.Page("pages/corpus.py", title="Corpus", icon=":material/library_books:")],
    "Workspace": [
        st.Page("pages/library.py", title="Library", icon=":material/folder_open:"),
        st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
    ],
}

navigation = st.navigation(PAGES)
st.sidebar.caption(f"PeerDraft · {settings.mode} mode")
navigation.run()
