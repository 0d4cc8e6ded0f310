from containers.links import HOST_NAMESPACES, ws_base
from containers.roles import has_role, role_of
from containers.views.preferences import theme_of


def panel(request):
    """The user's role, so templates show only the buttons the user may use; the page's Docker host."""
    user = getattr(request, "user", None)
    engine = getattr(request, "engine", None)
    match = getattr(request, "resolver_match", None)
    return {
        # a page about one host's containers, images or demo: its title and top bar name the host
        "host_page": bool(engine and match and set(match.namespaces) & set(HOST_NAMESPACES)),
        "engine": engine,
        "host_name": engine.name if engine is not None else "",
        "ws_base": ws_base(request),
        "role": role_of(user),
        "can_operate": has_role(user, "operator"),
        "can_admin": has_role(user, "admin"),
        "theme": theme_of(user),
    }
