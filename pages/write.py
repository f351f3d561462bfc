"""Write page: brief → outline → evidence → streamed, verified draft."""

import streamlit as st

st.title("Write")
st.info("Coming next: describe your article (topic, audience, key points), edit the planned outline, "
        "pin evidence from your corpus and draft each section with citations that are checked "
        "sentence by sentence against their sources.")
