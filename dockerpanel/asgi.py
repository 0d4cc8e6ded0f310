"""ASGI entry point: URLs bounded in length; HTTP goes to Django, websockets through session auth and
the origin check."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dockerpanel.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from containers.origins import OriginValidator  # noqa: E402
from containers.routing import websocket_urlpatterns  # noqa: E402
from dockerpanel.limits import UrlLengthLimit  # noqa: E402

application = UrlLengthLimit(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AuthMiddlewareStack(OriginValidator(URLRouter(websocket_urlpatterns))),
        }
    )
)

# Everything loaded so far (~100k objects) lives as long as the process: keep it out of the garbage
# collector's full passes, which otherwise walk it all and stall every socket for 20-130 ms here (the
# tail of a keystroke's echo; a log flood allocates enough to set them off).
gc.freeze()
