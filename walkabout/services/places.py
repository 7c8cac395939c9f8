"""Sites and wards (admin): names, sites, ward managers, active. Deactivated, never deleted."""

from sqlalchemy.orm import selectinload
from sqlmodel import Session, col, func, select

from ..models import Role, Site, User, UserRole, Ward
from . import ServiceError, audit


def sites(session: Session, active_only: bool = False) -> list[Site]:
    query = select(Site).order_by(col(Site.active).desc(), Site.name)
    if active_only:
        query = query.where(Site.active)
    return list(session.exec(query).all())


def ward_counts(session: Session) -> dict[int, int]:
    return dict(session.exec(select(Ward.site_id, func.count()).group_by(Ward.site_id)).all())


def wards(session: Session, active_only: bool = False, site_id: int | None = None) -> list[Ward]:
    query = (
        select(Ward)
        .join(Site)
        .options(selectinload(Ward.site), selectinload(Ward.managers))
        .order_by(col(Ward.active).desc(), Site.name, Ward.name)
    )
    if active_only:
        query = query.where(Ward.active)
    if site_id:
        query = query.where(Ward.site_id == site_id)
    return list(session.exec(query).all())


def manager_candidates(session: Session) -> list[User]:
    """Active users holding the ward manager role."""
    return list(
        session.exec(
            select(User)
            .join(UserRole)
            .where(UserRole.role == Role.WARD_MANAGER, User.active)
            .order_by(User.name)
        ).all()
    )


def save_site(session: Session, actor: User, site: Site | None, *, name: str, active: bool) -> Site:
    name = name.strip()
    if not name:
        raise ServiceError("Give the site a name.")
    clash = session.exec(select(Site.id).where(func.lower(Site.name) == name.lower())).first()
    if clash is not None and (site is None or clash != site.id):
        raise ServiceError(f"A site called {name} already exists.")
    if site is None:
        site = Site(name=name, active=active)
        session.add(site)
        audit.record(session, actor, site, "created", {"name": name})
        return site
    changes = audit.diff(site, {"name": name, "active": active})
    if changes:
        audit.record(session, actor, site, "updated", changes)
    return site


def save_ward(
    session: Session,
    actor: User,
    ward: Ward | None,
    *,
    name: str,
    site_id: int,
    specialty: str | None,
    manager_ids: list[int],
    active: bool,
) -> Ward:
    """Create or edit a ward with its managers (who must be active ward managers)."""
    name = name.strip()
    if not name:
        raise ServiceError("Give the ward a name.")
    site = session.get(Site, site_id) if site_id else None
    if site is None:
        raise ServiceError("Choose a site.")
    if not site.active and (ward is None or ward.site_id != site.id):
        raise ServiceError(f"{site.name} is deactivated; choose an active site.")
    clash = session.exec(
        select(Ward.id).where(Ward.site_id == site.id, func.lower(Ward.name) == name.lower())
    ).first()
    if clash is not None and (ward is None or clash != ward.id):
        raise ServiceError(f"{site.name} already has a ward called {name}.")
    managers = _managers(session, manager_ids)
    values = {
        "name": name,
        "site_id": site.id,
        "specialty": (specialty or "").strip() or None,
        "active": active,
    }
    if ward is None:
        ward = Ward(**values)
        ward.managers = managers
        session.add(ward)
        audit.record(session, actor, ward, "created", {**values, "manager_ids": manager_ids})
        return ward
    changes = audit.diff(ward, values)
    old_ids = sorted(user.id for user in ward.managers)
    new_ids = sorted(user.id for user in managers)
    if old_ids != new_ids:
        ward.managers = managers
        changes["manager_ids"] = [old_ids, new_ids]
    if changes:
        verb = "deactivated" if changes.get("active") == [True, False] else "updated"
        audit.record(session, actor, ward, verb, changes)
    return ward


def _managers(session: Session, manager_ids: list[int]) -> list[User]:
    ids = list(dict.fromkeys(manager_ids))
    if not ids:
        return []
    users = {
        user.id: user
        for user in session.exec(
            select(User).where(col(User.id).in_(ids)).options(selectinload(User.role_rows))
        ).all()
    }
    managers = []
    for user_id in ids:
        user = users.get(user_id)
        if user is None:
            raise ServiceError(f"User #{user_id} does not exist.")
        if not user.active:
            raise ServiceError(f"{user.name} is no longer active.")
        if not user.has_role(Role.WARD_MANAGER):
            raise ServiceError(f"{user.name} is not a ward manager. Give them that role first.")
        managers.append(user)
    return managers
