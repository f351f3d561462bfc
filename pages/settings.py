"""Settings page: the effective configuration, where each value came from, and the doctor's findings."""

import pandas as pd
import streamlit as st

from engine.diagnosis import diagnose
from engine.bundled_models import describe_llm
from pages._ui import get_settings

st.title("Settings")
settings = get_settings()
st.caption("Values come from defaults, then `peerdraft.toml`, then `PEERDRAFT_*` environment variables. "
           "Change them there and restart the app.")
model, why = describe_llm(settings)
st.info(f"**Drafting model:** {model}  \nChosen by {why}. Set `PEERDRAFT_LLM_PROFILE` (`default` or `small`) "
        "or `PEERDRAFT_LLM_MODEL` to change it.", icon=":material/neurology:")
rows = pd.DataFrame(settings.effective(), columns=["setting", "value", "source"])
st.dataframe(rows, hide_index=True, width="stretch")

st.subheader("Environment")
facts, problems = diagnose(settings)
st.dataframe(pd.DataFrame(facts, columns=["check", "result"]), hide_index=True, width="stretch")
for problem in problems:
    st.error(problem)
if not problems:
    st.success("Everything needed is in place.")
