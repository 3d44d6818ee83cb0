from accounts.models import Role, role_at_least
from accounts.selectors import user_memberships


def workspace(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    access = request.workspace_access if hasattr(request, "workspace_access") else None
    return {
        "workspace_access": access or None,
        # What the header offers: the pages refuse the rest on the server as well.
        "workspace_can_admin": bool(access) and role_at_least(access.role, Role.ADMIN),
        "memberships": user_memberships(user=user),
    }
