#!/bin/sh
# Entry point of the panel's image.
#   serve (default)  migrate the database (unless DOCKERPANEL_MIGRATE=0), then daphne on port 8000
#   migrate          only migrate (compose runs this once before the server processes)
#   manage ARGS...   python manage.py ARGS (e.g. manage createpaneluser alice --role admin)
#   anything else    run as given
# Started as root, it drops to the user dockerpanel (uid 10001) with the engine socket's group added,
# so the panel reaches the socket without being root. Only a socket its group cannot write keeps root.
set -eu
cd /app
UID_GID=10001

as_panel_user() {
  if [ "$(id -u)" != 0 ]; then
    exec "$@"  # started with --user: the caller chose
  fi
  groups=$UID_GID
  socket=${DOCKER_HOST:-unix:///var/run/docker.sock}
  case "$socket" in
    unix://*)
      socket=${socket#unix://}
      if [ -S "$socket" ]; then
        group_bits=$(( ($(stat -c %#a "$socket") >> 3) & 6 ))
        if [ "$group_bits" -ne 6 ]; then
          echo "entrypoint: $socket is not group read-write (mode $(stat -c %a "$socket")): running as root" >&2
          exec "$@"
        fi
        groups="$groups,$(stat -c %g "$socket")"
      fi
      ;;
  esac
  # A bind-mounted or older /data may belong to root.
  find /data -xdev ! -user "$UID_GID" -exec chown "$UID_GID:$UID_GID" {} + 2>/dev/null || true
  exec setpriv --reuid="$UID_GID" --regid="$UID_GID" --groups="$groups" --inh-caps=-all -- "$@"
}

case "${1:-serve}" in
  serve)
    shift || true
    proxy=""
    case "$(printf %s "${BEHIND_TLS_PROXY:-}" | tr A-Z a-z)" in 1|true|yes|on) proxy="--proxy-headers" ;; esac
    if [ "${DOCKERPANEL_MIGRATE:-1}" != 0 ]; then
      set -- sh -c "python3 manage.py migrate --noinput --verbosity 0 && exec daphne -b 0.0.0.0 -p 8000 $proxy dockerpanel.asgi:application"
    else
      set -- daphne -b 0.0.0.0 -p 8000 $proxy dockerpanel.asgi:application
    fi
    as_panel_user "$@"
    ;;
  migrate) as_panel_user python3 manage.py migrate --noinput ;;
  manage) shift; as_panel_user python3 manage.py "$@" ;;
  *) as_panel_user "$@" ;;
esac
