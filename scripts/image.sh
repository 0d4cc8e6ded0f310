#!/usr/bin/env bash
# Build the panel's image and, for the team deployment (deploy/compose.yaml), Redis and PostgreSQL
# images from Debian's packages, all on the base image BASE (debian:bookworm; here the engine script
# makes it by debootstrap). Usage: scripts/image.sh [panel|redis|postgres]...  (default: panel)
#
# Each image is tagged PREFIX[-redis|-postgres]:latest and :<hash of its inputs and base>; when the
# hash tag exists nothing is built, so re-runs cost a few hashes. The panel's Python packages are
# built here as wheels (build/wheels) and installed in the image with --no-index: the build reaches
# no Python package index. stdout: the :<hash> reference of each image, one a line.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-debian:bookworm}
PREFIX=${IMAGE_PREFIX:-dockerpanel}
PY=${PY:-.venv/bin/python}
DOCKER=${DOCKER:-docker}

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }

# The legacy builder where buildx is missing (Debian's docker.io): the Dockerfiles suit both.
"$DOCKER" buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

inputs_hash() {
  # inputs_hash PATH...: content of every file under PATHs, with the base image's ID.
  local base_id
  base_id=$("$DOCKER" image inspect --format '{{.Id}}' "$BASE" 2>/dev/null) \
    || die "base image $BASE is missing (make engine builds debian:bookworm)"
  {
    echo "$base_id"
    find "$@" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

build() {
  # build NAME DOCKERFILE CONTEXT INPUT_PATH... (the inputs named as in the repository, for a stable hash)
  local name=$1 dockerfile=$2 context=$3; shift 3
  local hash ref
  hash=$(inputs_hash "$@")
  ref="$name:$hash"
  if "$DOCKER" image inspect "$ref" >/dev/null 2>&1; then
    log "$ref is up to date"
  else
    [ "$name" = "$PREFIX" ] && wheels
    log "building $ref from $BASE"
    local out; out=$(mktemp)
    if ! "$DOCKER" build --pull=false --build-arg "BASE=$BASE" --label "dockerpanel.inputs=$hash" \
        -f "$dockerfile" -t "$ref" "$context" >"$out" 2>&1; then
      tail -n 40 "$out" >&2
      rm -f "$out"
      die "docker build of $ref failed"
    fi
    rm -f "$out"
  fi
  "$DOCKER" tag "$ref" "$name:latest"
  echo "$ref"
}

wheels() {
  [ -x "$PY" ] || die "$PY is missing: run make setup first"
  "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
    || die "the image runs Debian's Python 3.11, so the wheels need a Python 3.11 venv (PYTHON=python3.11 make setup)"
  log "building wheels into build/wheels"
  rm -rf build/wheels
  mkdir -p build
  # pip decides markers by this Python: bookworm's 3.11.2 also needs what redis wants below 3.11.3.
  "$PY" -m pip wheel --quiet --disable-pip-version-check -r requirements.txt 'async-timeout>=4.0.3' \
    -w build/wheels >build/wheels.log 2>&1 || { tail -n 30 build/wheels.log >&2; die "pip wheel failed"; }
}

panel() {
  [ -f static/vendor/htmx.min.js ] || die "static/vendor is empty: run make setup first"
  build "$PREFIX" Dockerfile . Dockerfile .dockerignore requirements.txt manage.py dockerpanel containers hosts templates static deploy/apt-install.sh \
    deploy/entrypoint.sh deploy/healthcheck.py
}

service() {
  # Redis and PostgreSQL need only their own folder and the apt helper.
  local what=$1 ctx; ctx=$(mktemp -d)
  cp deploy/apt-install.sh "deploy/$what/"* "$ctx/"
  build "$PREFIX-$what" "$ctx/Dockerfile" "$ctx" deploy/apt-install.sh "deploy/$what"
  rm -rf "$ctx"
}

[ $# -gt 0 ] || set -- panel
for what in "$@"; do
  case "$what" in
    panel) panel ;;
    redis | postgres) service "$what" ;;
    *) die "unknown image '$what': panel, redis or postgres" ;;
  esac
done
