"""Factories that create rows through real sessions, for tests."""

from datetime import date, datetime, timedelta
from itertools import count

from sqlmodel import select

from walkabout.db import session_scope
from walkabout.db_types import utcnow
from walkabout.models import (
    Action,
    ActionStatus,
    Category,
    Concern,
    ConcernKind,
    Role,
    Site,
    User,
    UserRole,
    Walkabout,
    WalkaboutStatus,
    Ward,
    WardManager,
    risk_band,
)
from walkabout.services.accounts import hash_password
from walkabout.timeutil import local_today

_serial = count(1)


class Factory:
    PASSWORD = "correct horse battery staple"

    def __init__(self, app):
        self.app = app

    def _save(self, obj):
        with self.app.app_context(), session_scope(self.app) as session:
            session.add(obj)
            session.flush()
            session.refresh(obj)
            session.expunge(obj)
        return obj

    def user(
        self,
        *roles: Role,
        email: str | None = None,
        name: str | None = None,
        password: str = PASSWORD,
        active: bool = True,
        job_title: str | None = None,
    ) -> User:
        n = next(_serial)
        with self.app.app_context(), session_scope(self.app) as session:
            user = User(
                email=email or f"user{n}@example.org",
                name=name or f"Test User {n}",
                job_title=job_title,
                password_hash=hash_password(password),  # with the app's (cheap, under test) parameters
                active=active,
            )
            user.role_rows = [UserRole(role=role) for role in (roles or (Role.EXECUTIVE,))]
            session.add(user)
            session.flush()
            user_id = user.id
        return self.get(User, user_id)

    def today(self) -> date:
        """The trust's date (its time zone), which the app's due dates and lists use."""
        with self.app.app_context():
            return local_today()

    def get(self, model, ident):
        from sqlalchemy.orm import selectinload

        with self.app.app_context(), session_scope(self.app, write=False) as session:
            query = select(model).where(model.id == ident)
            if model is User:
                query = query.options(selectinload(User.role_rows))
            obj = session.exec(query).one()
            session.expunge(obj)
            return obj

    def site(self, name: str | None = None) -> Site:
        return self._save(Site(name=name or f"Site {next(_serial)}"))

    def ward(
        self, site: Site | None = None, name: str | None = None, managers: tuple[User, ...] = ()
    ) -> Ward:
        site = site or self.site()
        ward = self._save(Ward(site_id=site.id, name=name or f"Ward {next(_serial)}"))
        with self.app.app_context(), session_scope(self.app) as session:
            for manager in managers:
                session.add(WardManager(ward_id=ward.id, user_id=manager.id))
        return ward

    def walkabout(
        self,
        ward: Ward,
        lead: User,
        start: datetime | None = None,
        status: WalkaboutStatus = WalkaboutStatus.PLANNED,
        **fields,
    ) -> Walkabout:
        return self._save(
            Walkabout(
                ward_id=ward.id,
                lead_id=lead.id,
                scheduled_start=start or utcnow() + timedelta(days=7),
                status=status,
                created_by_id=lead.id,
                **fields,
            )
        )

    def category_id(self, name: str = "Equipment") -> int:
        with self.app.app_context(), session_scope(self.app, write=False) as session:
            return session.exec(select(Category.id).where(Category.name == name)).one()

    def concern(
        self,
        walkabout: Walkabout,
        text: str = "Broken bladder scanner",
        likelihood: int = 3,
        consequence: int = 3,
        kind: ConcernKind = ConcernKind.CONCERN,
        **fields,
    ) -> Concern:
        score = likelihood * consequence if kind == ConcernKind.CONCERN else None
        return self._save(
            Concern(
                walkabout_id=walkabout.id,
                category_id=self.category_id(),
                kind=kind,
                text=text,
                likelihood=likelihood,
                consequence=consequence,
                risk_score=score,
                created_by_id=walkabout.lead_id,
                **fields,
            )
        )

    def action(
        self,
        concern: Concern,
        owner: User,
        due: date | None = None,
        status: ActionStatus = ActionStatus.OPEN,
        description: str = "Order a second scanner",
        **fields,
    ) -> Action:
        return self._save(
            Action(
                concern_id=concern.id,
                owner_id=owner.id,
                description=description,
                due_date=due or self.today() + timedelta(days=14),
                status=status,
                priority=risk_band(concern.risk_score) or "low",
                created_by_id=concern.created_by_id,
                **fields,
            )
        )

    def attend(self, walkabout: Walkabout, *users: User) -> None:
        """Add `users` to a walkabout's team."""
        from walkabout.models import WalkaboutAttendee

        with self.app.app_context(), session_scope(self.app) as session:
            for user in users:
                session.add(WalkaboutAttendee(walkabout_id=walkabout.id, user_id=user.id))

    def reschedule(self, walkabout: Walkabout, days_earlier: int = 7):
        from walkabout.models import WalkaboutReschedule

        return self._save(
            WalkaboutReschedule(
                walkabout_id=walkabout.id,
                from_start=walkabout.scheduled_start - timedelta(days=days_earlier),
                to_start=walkabout.scheduled_start,
                reason="Clashed with a board meeting",
                by_id=walkabout.lead_id,
            )
        )

    def delivery(self, walkabout: Walkabout, at: datetime | None = None, method: str = "At the walkabout"):
        """Feedback given to the walkabout's ward (e.g. "feedback given today" on completing it)."""
        from walkabout.models import FeedbackDelivery

        return self._save(
            FeedbackDelivery(
                ward_id=walkabout.ward_id,
                walkabout_id=walkabout.id,
                delivered_at=at or walkabout.completed_at or utcnow(),
                method=method,
                delivered_by_id=walkabout.lead_id,
            )
        )

    def photo(self, concern: Concern):
        from walkabout.models import Photo
        from walkabout.services.photos import process_upload

        from .photo_samples import jpeg_with_gps

        processed = process_upload(jpeg_with_gps(600, 400))
        return self._save(
            Photo(concern_id=concern.id, uploaded_by_id=concern.created_by_id, **processed.fields)
        )

    def categorised_concern(
        self,
        walkabout: Walkabout,
        category: str,
        text: str,
        likelihood: int = 3,
        consequence: int = 3,
        **fields,
    ) -> Concern:
        concern = self.concern(walkabout, text, likelihood, consequence, **fields)
        with self.app.app_context(), session_scope(self.app) as session:
            row = session.get(Concern, concern.id)
            row.category_id = self.category_id(category)
        return self.get(Concern, concern.id)
