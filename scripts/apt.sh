#!/usr/bin/env bash
# Install Debian packages by name, running `apt-get update` first when the lists are empty
# (a fresh machine) and once more if an install fails on stale lists. Packages' services are not
# started (a policy-rc.d for the time of the install): the project starts what it needs itself, on
# its own ports (openssh-server must not open port 22, redis-server and postgresql their defaults).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "need root to install: $*; install them with apt-get" >&2; exit 1; }
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
  apt-get update -qq
fi
install "$@" || { apt-get update -qq && install "$@"; }
