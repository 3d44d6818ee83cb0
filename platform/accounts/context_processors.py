from accounts.selectors import user_memberships


def workspace(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    access = request.workspace_access if hasattr(request, "workspace_access") else None
    return {
        "workspace_access": access or None,
        "memberships": user_memberships(user=user),
    }
