#!/bin/sh
# apt-get install inside `docker build`, retried: a build fails on one dropped connection to the
# Debian mirror otherwise. Leaves no package lists behind, so the layer stays small.
set -eu
export DEBIAN_FRONTEND=noninteractive
try=1
until apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; do
  if [ "$try" -ge 5 ]; then
    echo "apt-install: giving up on $* after $try tries" >&2
    exit 1
  fi
  echo "apt-install: try $try failed, retrying in $((try * 5)) s" >&2
  sleep $((try * 5))
  try=$((try + 1))
done
apt-get clean
rm -rf /var/lib/apt/lists/*
