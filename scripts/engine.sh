#!/usr/bin/env bash
# Make sure a Docker engine answers, then build the test images and the local registry.
# Reuses an engine that already answers: two daemons would fight over the docker0 bridge.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[engine] %s\n' "$*"; }
die() { printf '[engine] ERROR: %s\n' "$*" >&2; exit 1; }

DOCKER=${DOCKER:-docker}
REGISTRY_ADDR=${REGISTRY_ADDR:-127.0.0.1:5000}
STATE_DIR=${DOCKERPANEL_ENGINE_STATE:-/var/lib/dockerpanel-engine}

engine_answers() { timeout 10 "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_install() { bash scripts/apt.sh "$@"; }

ensure_commands() {
  # ensure_commands "cmd:package" ...
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or run as root"
    apt_install "${missing[@]}"
  fi
}

start_engine() {
  if engine_answers; then
    log "engine answers: $("$DOCKER" version --format '{{.Server.Version}}')"
    return
  fi
  if [ -n "${DOCKER_HOST:-}" ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
  fi
  [ "$(uname -s)" = Linux ] || die "no Docker engine answers; start Docker Desktop or set DOCKER_HOST"
  [ "$(id -u)" = 0 ] || die "no Docker engine answers at /var/run/docker.sock; start dockerd (sudo systemctl start docker) or add your user to the docker group"
  ensure_commands dockerd:docker.io iptables:iptables
  command -v docker >/dev/null 2>&1 || apt_install docker.io
  log "starting dockerd in the background (log: /var/log/dockerd-dockerpanel.log)"
  # setsid: the daemon must outlive make, so later runs reuse it.
  setsid nohup dockerd >/var/log/dockerd-dockerpanel.log 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    engine_answers && { log "engine is up"; return; }
    sleep 1
  done
  tail -n 20 /var/log/dockerd-dockerpanel.log >&2 || true
  die "dockerd did not answer within 60 s"
}

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

build_busybox() {
  local ref=dockerpanel-test/busybox:latest
  image_exists "$ref" && { log "$ref present"; return; }
  # The image has no libc, so it needs the static build, not Debian's dynamic "busybox".
  dpkg -s busybox-static >/dev/null 2>&1 || apt_install busybox-static
  local bb=/bin/busybox
  local root; root=$(mktemp -d)
  mkdir -p "$root"/{bin,tmp,etc,proc,sys,dev,root,var/www}
  cp "$bb" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  chmod 1777 "$root/tmp"
  log "importing $ref"
  tar -C "$root" -c . | "$DOCKER" import --change 'CMD ["sh"]' --change 'ENV PATH=/bin' - "$ref" >/dev/null
  rm -rf "$root"
}

build_debian() {
  local ref=debian:bookworm
  image_exists "$ref" && { log "$ref present"; return; }
  ensure_commands debootstrap:debootstrap
  local root; root=$(mktemp -d)
  log "debootstrap --variant=minbase bookworm (about a minute)"
  debootstrap --variant=minbase bookworm "$root" >/tmp/dockerpanel-debootstrap.log 2>&1 \
    || { tail -n 20 /tmp/dockerpanel-debootstrap.log >&2; die "debootstrap failed"; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  log "importing $ref"
  tar -C "$root" -c . | "$DOCKER" import --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$ref" >/dev/null
  rm -rf "$root"
}

start_registry() {
  if curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
    log "registry answers at $REGISTRY_ADDR"
    return
  fi
  [ "$(id -u)" = 0 ] || die "no registry at $REGISTRY_ADDR; run 'docker-registry' there or run as root"
  ensure_commands docker-registry:docker-registry curl:curl
  mkdir -p "$STATE_DIR/registry"
  cat > "$STATE_DIR/registry.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
log:
  level: warn
YAML
  log "starting docker-registry on $REGISTRY_ADDR"
  setsid nohup docker-registry serve "$STATE_DIR/registry.yml" >/var/log/dockerpanel-registry.log 2>&1 < /dev/null &
  for _ in $(seq 1 30); do
    curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1 && return
    sleep 0.5
  done
  tail -n 20 /var/log/dockerpanel-registry.log >&2 || true
  die "docker-registry did not answer at $REGISTRY_ADDR"
}

ensure_commands curl:curl tar:tar
start_engine
build_busybox
build_debian
start_registry
# The live-update tests start their own redis-server on a free port (issue 6).
ensure_commands redis-server:redis-server
# The reliability tests start their own PostgreSQL 15 cluster (make pgtest), a private dockerd on a
# bridge of their own (ip) and tiny tmpfs data folders (issue 14).
[ -x /usr/lib/postgresql/15/bin/initdb ] || apt_install postgresql-15
ensure_commands ip:iproute2 runuser:util-linux
# Several hosts (issue 10): openssl makes the TLS host's certificates, openssh-server serves the SSH
# host (its package does not start the system's sshd: scripts/apt.sh starts no services).
ensure_commands openssl:openssl ssh-keygen:openssh-client sshd:openssh-server
# The extra engines (a second dockerd, a third with TLS, the second over SSH): tests/engines.py,
# reused when they run; the test fixtures start them too.
if [ -x .venv/bin/python ]; then
  .venv/bin/python -m tests.engines up
fi
log "ready"
