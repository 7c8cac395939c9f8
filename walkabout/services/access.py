"""Who sees which wards: executives, board secretaries and admins see all;
ward managers see the wards they manage. A photo is seen by those who see its ward."""

from sqlmodel import Session, select

from ..models import Action, ActionUpdate, Concern, Photo, Role, User, Walkabout, WardManager

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


def photo_ward_id(session: Session, photo_id: int) -> int | None:
    """The ward of a live photo (through its concern, or its action's concern), or None when
    the photo, its concern or its action was deleted."""
    by_concern = (
        select(Walkabout.ward_id)
        .join(Concern, Concern.walkabout_id == Walkabout.id)
        .join(Photo, Photo.concern_id == Concern.id)
        .where(Photo.id == photo_id, Photo.deleted_at.is_(None), Concern.deleted_at.is_(None))
    )
    by_action = (
        select(Walkabout.ward_id)
        .join(Concern, Concern.walkabout_id == Walkabout.id)
        .join(Action, Action.concern_id == Concern.id)
        .join(ActionUpdate, ActionUpdate.action_id == Action.id)
        .join(Photo, Photo.action_update_id == ActionUpdate.id)
        .where(
            Photo.id == photo_id,
            Photo.deleted_at.is_(None),
            Concern.deleted_at.is_(None),
            Action.deleted_at.is_(None),
        )
    )
    return session.exec(by_concern).first() or session.exec(by_action).first()


def can_see_photo(session: Session, user: User, photo_id: int) -> bool:
    """True when `user` may see photo `photo_id` (a live photo on a ward they see)."""
    ward_id = photo_ward_id(session, photo_id)
    allowed = visible_ward_ids(session, user)
    return ward_id is not None and (allowed is None or ward_id in allowed)
