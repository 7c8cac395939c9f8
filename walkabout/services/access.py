"""Who sees which wards: executives, board secretaries and admins see all;
ward managers see the wards they manage."""

from sqlmodel import Session, select

from ..models import Role, User, WardManager

SEES_ALL_WARDS = (Role.EXECUTIVE, Role.BOARD_SECRETARY, Role.ADMIN)


def sees_all_wards(user: User) -> bool:
    return user.has_role(*SEES_ALL_WARDS)


def managed_ward_ids(session: Session, user: User) -> set[int]:
    return set(session.exec(select(WardManager.ward_id).where(WardManager.user_id == user.id)).all())


def visible_ward_ids(session: Session, user: User) -> set[int] | None:
    """The ward ids `user` may see, or None for every ward."""
    if sees_all_wards(user):
        return None
    return managed_ward_ids(session, user)
