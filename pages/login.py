"""Login page (team mode): user name and password, lockout after repeated failures, sign out."""

import os

import streamlit as st

from engine import auth
from pages._ui import current_user, get_settings, get_store, sign_in, sign_out_button

st.title("Sign in")
settings = get_settings()
store = get_store()

if settings.mode != "team":
    st.info("PeerDraft runs in local mode: there is one user and no login. "
            "Set PEERDRAFT_MODE=team to require accounts.")
    st.stop()

problem = auth.team_setup_problem(settings, store, os.environ)
if problem:
    st.warning(problem)

user = current_user()
if user is not None:
    st.success(f"Signed in as {user.name} ({user.role}).")
    sign_out_button(st.container(), key="sign_out_login")  # app.py draws the sidebar one
    st.stop()

with st.form("login", enter_to_submit=True):
    name = st.text_input("User name", key="login_name", autocomplete="username")
    password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary")

if submitted:
    try:
        user = auth.authenticate(store, name, password)
    except auth.LockedOut as exc:
        st.error(f"Locked: {exc}", icon=":material/lock_clock:")
    except auth.LoginFailed as exc:
        st.error(str(exc))
    else:
        sign_in(user)
        st.rerun()
