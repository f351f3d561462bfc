"""Review page: jargon, readability and style checks and the evaluation panel for the current draft."""

import streamlit as st

st.title("Review")
st.info("Coming next: undefined technical terms highlighted at first use, readability scores against "
        "your audience's target band, Hemingway-style sentence highlighting and the evaluation panel.")
