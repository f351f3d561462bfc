"""PeerDraft engine: everything behind the app and the CLI (never imports streamlit).

Stages, in the order a writer walks them: ingest → index → retrieve → plan → draft →
verify → check → evaluate → export. Each is one module (or package) of this library.
"""

import os
import sys

__version__ = "0.1.0"

# torch and llama-cpp-python share one OpenMP runtime (libgomp). Its default wait policy spins between
# parallel regions, and on a shared machine spinning threads starve each other; sleeping at once
# (PASSIVE) costs a quarter of the speed on an idle machine. Spinning briefly, then sleeping, keeps
# most of both. Measured here, raw llama.cpp on SmolLM2, 2 threads, tok/s (idle / 2 busy processes
# beside it): always spinning (ACTIVE) 47.7 / 13.3, PASSIVE 33.0 / 24.7, PASSIVE + GOMP_SPINCOUNT=10000
# 49.7 / 19.7. libgomp reads these once, when it loads, so they are set here, before any engine module
# can import torch or llama_cpp. Either variable set in the environment wins.
OMP_POLICY_FROM_USER = os.environ.get("OMP_WAIT_POLICY")
OPENMP_LOADED_BEFORE_ENGINE = "torch" in sys.modules or "llama_cpp" in sys.modules
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    os.environ["GOMP_SPINCOUNT"] = "10000"
