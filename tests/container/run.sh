#!/usr/bin/env bash
# The container test, from a bare Debian machine (run as root; scripts/test.sh --container calls this):
#  1. Debian's docker.io, docker-compose and debootstrap (apt), where missing;
#  2. dockerd with --bridge=none --iptables=false, unless an engine already answers (containers then use
#     host networking only, and the test talks to 127.0.0.1 only);
#  3. a Debian bookworm minbase made with debootstrap and `docker import`ed as peerdraft-base:bookworm
#     (no registry is needed);
#  4. scripts/wheelhouse.sh, then the image built from that base and the wheelhouse (--network host: apt
#     inside the build reaches the Debian mirror through the host; pip reaches no index);
#  5. pytest tests/container, then dockerd stopped again if this script started it (images are kept as
#     the layer cache for the next run; `docker image rm peerdraft:latest peerdraft-base:bookworm` frees them).
#   tests/container/run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/../.."
ARTIFACTS=tests/artifacts/container
mkdir -p "$ARTIFACTS"
BASE=${PEERDRAFT_TEST_BASE:-peerdraft-base:bookworm}
IMAGE=peerdraft:latest
say() { echo "== $*"; }

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if (( ${#missing[@]} )); then
  [[ $(id -u) == 0 ]] || { echo "!! ${missing[*]} missing: run this as root (it installs them with apt-get)" >&2; exit 1; }
  say "installing Debian's ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

STARTED_DOCKERD=""
stop_dockerd() {
  if [[ -n $STARTED_DOCKERD ]] && kill -0 "$STARTED_DOCKERD" 2>/dev/null; then
    say "stopping the dockerd this script started (pid $STARTED_DOCKERD)"
    kill "$STARTED_DOCKERD"
    for _ in $(seq 60); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  fi
}
trap stop_dockerd EXIT
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd (--bridge=none --iptables=false: host networking only)"
  nice -n 10 dockerd --bridge=none --iptables=false --ip-masq=false >"$ARTIFACTS/dockerd.log" 2>&1 &
  STARTED_DOCKERD=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "!! dockerd did not answer within 60 s; see $ARTIFACTS/dockerd.log" >&2; exit 1; }
fi

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  rootfs=$(mktemp -d /var/tmp/peerdraft-rootfs.XXXXXX)
  say "debootstrap --variant=minbase bookworm (about a minute), imported as $BASE"
  nice -n 10 debootstrap --variant=minbase bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$ARTIFACTS/debootstrap.log" 2>&1 || { echo "!! debootstrap failed; see $ARTIFACTS/debootstrap.log" >&2; exit 1; }
  tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

say "wheelhouse (scripts/wheelhouse.sh; re-runs only fetch what is missing)"
nice -n 10 scripts/wheelhouse.sh wheelhouse

# BuildKit (the Dockerfile bind-mounts the wheelhouse): the buildx plugin where installed, else a
# pre-23 docker client (Debian's 20.10 has BuildKit built in), else stop with the fix.
BUILD=()
if docker buildx version >/dev/null 2>&1; then
  BUILD=(docker buildx build --load)
else
  for client in $(which -a docker); do
    major=$("$client" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)
    if [[ -n $major && $major -lt 23 ]]; then BUILD=(env DOCKER_BUILDKIT=1 "$client" build); break; fi
  done
fi
(( ${#BUILD[@]} )) || { echo "!! no BuildKit-capable docker client: install the buildx plugin (docker-buildx)" >&2; exit 1; }
say "building $IMAGE from $BASE and ./wheelhouse (no package index)"
began=$(date +%s)
nice -n 10 "${BUILD[@]}" --progress=plain --network host --build-arg BASE="$BASE" --build-arg WHEELHOUSE=wheelhouse \
  -t "$IMAGE" . >"$ARTIFACTS/build.log" 2>&1 || { tail -30 "$ARTIFACTS/build.log"; echo "!! build failed" >&2; exit 1; }
seconds=$(( $(date +%s) - began ))
size=$(docker image inspect "$IMAGE" --format '{{.Size}}')
cached=$(grep -c '^#[0-9]* CACHED' "$ARTIFACTS/build.log" || true)
printf '{"build_seconds": %s, "image_bytes": %s, "cached_steps": %s, "base": "%s", "load": "%s"}\n' \
  "$seconds" "$size" "$cached" "$BASE" "$(cut -d' ' -f1-3 /proc/loadavg)" > "$ARTIFACTS/build.json"
say "built in ${seconds} s ($cached cached steps), image $(( size / 1000000 )) MB"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/python -m pytest tests/container -p no:cacheprovider -rA "$@"
