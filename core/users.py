"""Optional users and the approver role, shared by the chat's login, the CLI and the approval primitive.

Authentication is on only when ``OPSGRAPH_CHAT_USERS`` is set, e.g. ``"alice:pw:approver,bob:pw:viewer"``
(``name:password[:role]``, role ``viewer`` by default). Chainlit then also needs ``CHAINLIT_AUTH_SECRET``
(``chainlit create-secret``). Roles are read from this configuration every time (not from the session token),
so changing a user's role takes effect at once. With users configured, a gate accepts decisions only from an
approver, whichever door they come through (chat, CLI, the LangGraph API). With authentication off everyone is
``anonymous`` in the chat and may approve gates.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

ENV_USERS = "OPSGRAPH_CHAT_USERS"
APPROVER = "approver"
VIEWER = "viewer"
ROLES = (APPROVER, VIEWER)
ANONYMOUS = "anonymous"
DENIED = "you need the approver role to approve this gate"


@dataclass(frozen=True)
class ChatUser:
    """One configured account."""

    identifier: str
    password: str
    role: str


def parse_users(spec: str) -> dict[str, ChatUser]:
    """Parse ``name:password[:role]`` entries separated by commas; raises ValueError on a malformed entry."""
    users: dict[str, ChatUser] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, rest = entry.partition(":")
        password, _, role = rest.rpartition(":") if rest.count(":") else (rest, "", VIEWER)
        role = (role or VIEWER).strip().lower()
        if not sep or not name.strip() or not password:
            raise ValueError(f"{ENV_USERS}: expected name:password[:role], got {entry.split(':')[0]!r}:***")
        if role not in ROLES:
            raise ValueError(f"{ENV_USERS}: unknown role {role!r} for {name!r} (roles: {', '.join(ROLES)})")
        users[name.strip()] = ChatUser(name.strip(), password, role)
    return users


def configured_users() -> dict[str, ChatUser]:
    """The accounts from the environment (empty when authentication is off)."""
    return parse_users(os.environ.get(ENV_USERS, ""))


def auth_enabled() -> bool:
    """True when ``OPSGRAPH_CHAT_USERS`` names at least one account."""
    return bool(os.environ.get(ENV_USERS, "").strip())


def check_password(username: str, password: str) -> ChatUser | None:
    """The account when the password matches (constant-time comparison), else None."""
    user = configured_users().get(username.strip())
    if user is None:
        hmac.compare_digest(password.encode(), b"x" * max(1, len(password)))  # same work for unknown names
        return None
    return user if hmac.compare_digest(password.encode(), user.password.encode()) else None


def role_of(identifier: str | None) -> str:
    """The current role of a user: ``approver`` for everyone when authentication is off."""
    if not auth_enabled():
        return APPROVER
    user = configured_users().get(identifier or "")
    return user.role if user else VIEWER


def can_approve(identifier: str | None) -> bool:
    """Whether this user may decide at a gate."""
    return role_of(identifier) == APPROVER
