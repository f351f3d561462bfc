"""Driving the team app as a person would: the real sign-in form, sign-out, and everything a page shows."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from security_team import PASSWORD, REPO, SECRETS


def open_app() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.run()
    assert [t.value for t in at.title] == ["Sign in"], "the team app must start on the sign-in page"
    return at


def sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(PASSWORD)
    next(b for b in at.button if b.label == "Sign in").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["user_id"], f"{name} could not sign in"
    at.switch_page("pages/write.py").run()  # the app's default page, where a browser lands after signing in
    assert not at.exception, [e.value for e in at.exception]
    return at


def sign_out(at: AppTest) -> AppTest:
    # The Sign in page's button (the sidebar one calls the same pages._ui.sign_out; AppTest does not list
    # elements app.py draws in the sidebar around st.navigation).
    at.switch_page("pages/login.py").run()
    at.button(key="sign_out_login").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "user_id" not in at.session_state
    return at


def shown_text(at: AppTest) -> str:
    """Everything the page sends to the browser (text, widget values and options, tables, HTML, downloads)."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(parts)


def leaked(text: str) -> list[str]:
    """The secrets of ana's private upload that appear in `text`."""
    return [s for s in SECRETS if s.lower() in text.lower()]
