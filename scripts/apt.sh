#!/usr/bin/env bash
# Install Debian packages by name, running `apt-get update` first when the lists are empty
# (a fresh machine) and once more if an install fails on stale lists.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "need root to install: $*; install them with apt-get" >&2; exit 1; }
install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ]; then
  apt-get update -qq
fi
install "$@" || { apt-get update -qq && install "$@"; }
