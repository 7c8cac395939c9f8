"""One-click unsubscribe (RFC 8058): a signed token per user and message kind.

The token is in the List-Unsubscribe address of every message of an optional
kind; POSTing to it (as mail clients do) turns that kind off for that user.
Invitations and escalations carry none: they are part of the job.
"""

from itsdangerous import BadSignature, URLSafeSerializer

from ..services import notification_kinds as kinds

SALT = "walkabout-unsubscribe"
NOT_BY_LINK = {kinds.INVITATION.key, kinds.ESCALATION.key}


def can_unsubscribe(kind: kinds.Kind) -> bool:
    return kind.optional and kind.key not in NOT_BY_LINK


def _serializer(config: dict) -> URLSafeSerializer:
    return URLSafeSerializer(config["SECRET_KEY"], salt=SALT)


def make_token(config: dict, user_id: int, kind: kinds.Kind) -> str:
    return _serializer(config).dumps([user_id, kind.key])


def read_token(config: dict, token: str) -> tuple[int, kinds.Kind] | None:
    """(user id, kind) of a genuine token for a kind that can be turned off this way, else None."""
    if not token or len(token) > 200:
        return None
    try:
        user_id, key = _serializer(config).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    kind = kinds.BY_KEY.get(key) if isinstance(key, str) else None
    if not isinstance(user_id, int) or kind is None or not can_unsubscribe(kind):
        return None
    return user_id, kind


def headers(config: dict, user_id: int, kind: kinds.Kind) -> dict[str, str]:
    """The List-Unsubscribe headers of a message of `kind` to this user (none for required kinds)."""
    if not can_unsubscribe(kind):
        return {}
    url = f"{config['BASE_URL']}/unsubscribe/{make_token(config, user_id, kind)}"
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
