# PeerDraft team instance.
#   CPU (default):  docker build -t peerdraft .
#   CUDA + 4-bit:   docker build -t peerdraft:cuda --build-arg BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 --build-arg EXTRAS=gpu .
# The install steps are scripts/setup.sh, the same script the README and CI run.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ARG EXTRAS=""
# Optional: a pip index holding CPU-only torch wheels, for a smaller CPU image.
ARG TORCH_INDEX_URL=""
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PEERDRAFT_DATA_DIR=/data \
    PEERDRAFT_MODE=team \
    HF_HOME=/models

# Compilers for llama-cpp-python (built once, ~4 min on 2 cores); python3 for CUDA bases.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake git curl ca-certificates \
      $(command -v python3.11 >/dev/null || echo python3 python3-venv python3-dev) \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts/ scripts/
COPY engine/ engine/
RUN PYTHON=$(command -v python3.11 || command -v python3) PEERDRAFT_EXTRAS="${EXTRAS}" \
    PEERDRAFT_TORCH_INDEX_URL="${TORCH_INDEX_URL}" scripts/setup.sh \
 && rm -rf /root/.cache/pip
COPY app.py ./
COPY pages/ pages/
COPY corpus/ corpus/
COPY .streamlit/ .streamlit/

VOLUME ["/data"]
EXPOSE 8501 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8501/_stcore/health || exit 1
ENTRYPOINT ["/app/.venv/bin/peerdraft"]
CMD ["run", "--host", "0.0.0.0", "--port", "8501"]
