from containers.roles import has_role, role_of
from containers.views.preferences import theme_of


def panel(request):
    """The user's role, so templates show only the buttons the user may use."""
    user = getattr(request, "user", None)
    return {
        "role": role_of(user),
        "can_operate": has_role(user, "operator"),
        "can_admin": has_role(user, "admin"),
        "theme": theme_of(user),
    }
