"""Admin management of users and roles."""

from __future__ import annotations

from flask import current_app

from backend.arguments import Blueprint
from backend.auth import service
from backend.auth.current import admin_required, current_user
from backend.auth.schemas import RoleGrantSchema, UserAdminSchema, UserListArgsSchema

blp = Blueprint(
    "users", __name__, url_prefix="/api/v1/users", description="Users and roles (admin)"
)


@blp.get("")
@admin_required
@blp.arguments(UserListArgsSchema, location="query")
@blp.response(200, UserAdminSchema(many=True))
def list_users(args):
    """List users, optionally of one role (admin)."""
    return service.list_users(args.get("role"))


@blp.put("/<int:user_id>/role")
@admin_required
@blp.arguments(RoleGrantSchema)
@blp.response(200, UserAdminSchema)
def grant_role(args, user_id: int):
    """Grant or remove the venue_staff and admin roles (admin)."""
    settings = current_app.config["SAFEHAVEN_SETTINGS"]
    return service.grant_role(
        current_user(),
        user_id,
        args["role"],
        mode=settings.auth_mode,
        project_id=settings.firebase_project_id,
    )
