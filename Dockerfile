# PeerDraft team instance (needs BuildKit: the default builder since Docker 23; DOCKER_BUILDKIT=1 on 20.10).
#   CPU, online:      docker build -t peerdraft .
#   CPU, air-gapped:  scripts/wheelhouse.sh && docker build --build-arg WHEELHOUSE=wheelhouse -t peerdraft .
#                     (pip installs only from ./wheelhouse: --no-index --find-links; add --network host
#                     where containers reach the Debian mirror only through the host)
#   any Debian/Ubuntu base, even one without Python (e.g. a debootstrap bookworm imported with
#   `docker import`): --build-arg BASE=NAME:TAG; Python 3.11 then comes from apt (python3, python3-venv).
#   CUDA + 4-bit:     docker build -t peerdraft:cuda --build-arg BASE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 --build-arg EXTRAS=gpu .
# The install steps are scripts/setup.sh, the same script the README and CI run.
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}

ARG EXTRAS=""
# Optional: a pip index holding CPU-only torch wheels, for a smaller CPU image (online builds).
ARG TORCH_INDEX_URL=""
# Optional: a folder in the build context holding scripts/wheelhouse.sh's wheels; pip then never
# contacts a package index. Bind-mounted for the install step only, so the image does not carry it.
ARG WHEELHOUSE=""
# HOME and MPLCONFIGDIR on /tmp: the root filesystem may be read-only (compose.yaml); /data is the volume.
ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PEERDRAFT_DATA_DIR=/data \
    PEERDRAFT_MODE=team \
    HF_HOME=/models \
    HOME=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib

# Compilers only for an online build (llama-cpp-python compiles there, ~4 min on 2 cores; the wheelhouse
# carries it built); python3 for bases without Python 3.11; libgomp1 for llama.cpp's threads.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl ca-certificates libgomp1 \
      $([ -n "$WHEELHOUSE" ] || echo build-essential cmake git) \
      $(command -v python3.11 >/dev/null || echo python3 python3-venv) \
      $([ -n "$WHEELHOUSE" ] || command -v python3.11 >/dev/null || echo python3-dev) \
 && apt-get clean && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts/ scripts/
COPY engine/ engine/
RUN --mount=type=bind,target=/context \
    if [ -n "$WHEELHOUSE" ]; then \
      ls /context/"$WHEELHOUSE"/torch-*.whl >/dev/null 2>&1 || { echo "!! no wheelhouse at ./$WHEELHOUSE in the build" \
        "context: run scripts/wheelhouse.sh $WHEELHOUSE first (and keep it out of .dockerignore)" >&2; exit 1; }; \
      export PIP_NO_INDEX=1 PIP_FIND_LINKS=/context/"$WHEELHOUSE" PIP_NO_CACHE_DIR=1; \
    fi \
 && PYTHON=$(command -v python3.11 || command -v python3) PEERDRAFT_EXTRAS="${EXTRAS}" \
    PEERDRAFT_TORCH_INDEX_URL="${TORCH_INDEX_URL}" scripts/setup.sh \
 && apt-get clean && rm -rf /root/.cache/pip /var/lib/apt/lists/*
COPY app.py ./
COPY pages/ pages/
COPY corpus/ corpus/
COPY .streamlit/ .streamlit/

# Runs as an unprivileged user; it owns only the data volume and the HF model cache.
RUN useradd --system --uid 10001 --no-create-home --home-dir /tmp --shell /usr/sbin/nologin peerdraft \
 && mkdir -p /data /models && chown peerdraft:peerdraft /data /models
USER peerdraft
VOLUME ["/data"]
EXPOSE 8501 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8501/_stcore/health || exit 1
ENTRYPOINT ["/app/.venv/bin/peerdraft"]
CMD ["run", "--host", "0.0.0.0", "--port", "8501"]
