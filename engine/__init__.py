"""PeerDraft engine: everything behind the app and the CLI (never imports streamlit).

Stages, in the order a writer walks them: ingest → index → retrieve → plan → draft →
verify → check → evaluate → export. Each is one module (or package) of this library.
"""

__version__ = "0.1.0"
