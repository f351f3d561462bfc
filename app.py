"""PeerDraft: the Streamlit entry point. Builds navigation; every page is a thin layer over engine/."""

import streamlit as st

from pages._ui import current_user, get_settings, sign_out_button, start_team_services

# An emoji tab icon becomes an inline SVG; a ":material/…:" one makes the browser fetch it from a font host.
st.set_page_config(page_title="PeerDraft", page_icon="📝", layout="wide")
settings = get_settings()
if settings.mode == "team":
    start_team_services(settings)
login = st.Page("pages/login.py", title="Sign in", icon=":material/login:")

if settings.mode == "team" and current_user() is None:
    # Team mode: nothing but the sign-in page until a user is signed in.
    navigation = st.navigation([login])
else:
    navigation = st.navigation({
        "Write": [
            st.Page("pages/write.py", title="Write", icon=":material/edit:", default=True),
            st.Page("pages/review.py", title="Review", icon=":material/fact_check:"),
        ],
        "Sources": [st.Page("pages/corpus.py", title="Corpus", icon=":material/library_books:")],
        "Workspace": [
            st.Page("pages/library.py", title="Library", icon=":material/folder_open:"),
            st.Page("pages/settings.py", title="Settings", icon=":material/settings:"),
        ] + ([login] if settings.mode == "team" else []),
    })
    st.sidebar.caption(f"PeerDraft · {settings.mode} mode")
    sign_out_button()
navigation.run()
