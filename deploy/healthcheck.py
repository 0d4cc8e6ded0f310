"""The image's HEALTHCHECK: GET /healthz (database and engine) with a host name the panel accepts."""

import os
import sys
import urllib.request

hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1").split(",") if h.strip()]
# "*" and ".example.com" are patterns, not names: 127.0.0.1 matches "*", a subdomain matches the dot.
host = next((h for h in hosts if h != "*" and not h.startswith(".")), None)
if host is None:
    host = "127.0.0.1" if "*" in hosts else "panel" + hosts[0]
request = urllib.request.Request("http://127.0.0.1:8000/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as e:  # 503 (database or engine down), refused, timed out
    print(f"healthz: {e}", file=sys.stderr)
    sys.exit(1)
