from containers.links import on_host_page, switch_page_of, ws_base
from containers.roles import has_role, role_of
from containers.views.preferences import theme_of


def panel(request):
    """The user's role, so templates show only the buttons the user may use; the page's Docker host."""
    user = getattr(request, "user", None)
    engine = getattr(request, "engine", None)
    match = getattr(request, "resolver_match", None)
    host_page = on_host_page(request)
    return {
        # a page about one host's containers, images or demo: its title and top bar name the host
        "host_page": host_page,
        # the top bar's host switcher: the hosts, and the same kind of page on the chosen one
        "switch_hosts": _host_names() if host_page and user.is_authenticated else [],
        "switch_page": switch_page_of(match) if host_page else "",
        "engine": engine,
        "host_name": engine.name if engine is not None else "",
        "ws_base": ws_base(request),
        "role": role_of(user),
        "can_operate": has_role(user, "operator"),
        "can_admin": has_role(user, "admin"),
        "theme": theme_of(user),
    }


def _host_names() -> list[str]:
    from hosts.models import Host

    return list(Host.objects.listed().values_list("name", flat=True))
