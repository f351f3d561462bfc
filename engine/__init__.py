"""PeerDraft engine: everything behind the app and the CLI (never imports streamlit).

Stages, in the order a writer walks them: ingest → index → retrieve → plan → draft →
verify → check → evaluate → export. Each is one module (or package) of this library.
"""

import os
import sys

__version__ = "0.1.0"

# torch and llama-cpp-python share one OpenMP runtime (libgomp), whose default wait policy spins
# between parallel regions. On a shared machine spinning threads starve each other (measured here
# under load: llama.cpp 0.75 tok/s spinning, 8.6 tok/s passive). libgomp reads the policy once, when
# it loads, so it is set here, before any engine module can import torch or llama_cpp. An explicit
# OMP_WAIT_POLICY in the environment wins.
OMP_POLICY_FROM_USER = os.environ.get("OMP_WAIT_POLICY")
OPENMP_LOADED_BEFORE_ENGINE = "torch" in sys.modules or "llama_cpp" in sys.modules
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
