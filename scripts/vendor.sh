#!/usr/bin/env bash
# Copy the npm front-end packages into static/vendor (git-ignored; rebuilt at every setup).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=static/vendor
mkdir -p "$dest"
cp node_modules/htmx.org/dist/htmx.min.js "$dest/htmx.min.js"
cp node_modules/@xterm/xterm/lib/xterm.js node_modules/@xterm/xterm/lib/xterm.js.map "$dest/"
cp node_modules/@xterm/xterm/css/xterm.css "$dest/xterm.css"
cp node_modules/@xterm/addon-fit/lib/addon-fit.js node_modules/@xterm/addon-fit/lib/addon-fit.js.map "$dest/"
