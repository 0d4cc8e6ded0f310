"""One access helper per resource: resolve what a URL or form names, or answer 404/400."""

from __future__ import annotations

from django.http import Http404

from containers.engine import ContainerRef, Engine, NotFound


def get_container_or_404(engine: Engine, ref: str) -> ContainerRef:
    """A container of `engine` by name, full ID or unique ID prefix (3+ characters), as the CLI
    resolves it.

    Unknown: 404 naming the ref. Ambiguous: engine.Ambiguous, which the middleware shows as a 400
    listing the matches.
    """
    try:
        return engine.resolve_container(ref)
    except NotFound as e:
        raise Http404(str(e))
