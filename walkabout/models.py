"""Every table of the product (SQLModel), its enums and small derived properties.

Conventions: datetimes are aware UTC (`UTCDateTime`), calendar dates are `date`;
enums are stored as strings; soft-deleted rows carry `deleted_at`; rows that
people edit concurrently carry a `version` that the ORM bumps on every UPDATE and
puts in its WHERE clause (`Versioned`), so a concurrent change is refused.
"""

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, Relationship, SQLModel

from .db_types import UTCDateTime, enum_type, utcnow
from .rules import RISK_BANDS

# --- enums -------------------------------------------------------------------


class Role(StrEnum):
    EXECUTIVE = "executive"
    WARD_MANAGER = "ward_manager"
    BOARD_SECRETARY = "board_secretary"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.EXECUTIVE: "Executive",
    Role.WARD_MANAGER: "Ward manager",
    Role.BOARD_SECRETARY: "Board secretary",
    Role.ADMIN: "Administrator",
}


class WalkaboutStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class ConcernKind(StrEnum):
    CONCERN = "concern"
    GOOD_PRACTICE = "good_practice"


class ConcernStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    NO_ACTION_NEEDED = "no_action_needed"


class FeedbackKind(StrEnum):
    INTERIM = "interim"
    FINAL = "final"


class RiskBand(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    EXTREME = "extreme"


class ActionStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    VERIFIED = "verified"
    REOPENED = "reopened"


class ActionUpdateKind(StrEnum):
    CREATED = "created"
    COMMENT = "comment"
    STATUS_CHANGE = "status_change"
    DUE_DATE_CHANGE = "due_date_change"
    OWNER_CHANGE = "owner_change"


class PromptKind(StrEnum):
    OPENING = "opening"
    QUESTION = "question"
    READBACK = "readback"
    CLOSING = "closing"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class BoardPackStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


def risk_band(score: int | None) -> RiskBand | None:
    """NHS 5x5 matrix band of a risk score (likelihood x consequence)."""
    if score is None:
        return None
    return next((RiskBand(band) for top, band in RISK_BANDS if score <= top), RiskBand.EXTREME)


HIGHEST_BAND_FIRST = [RiskBand(band) for _top, band in reversed(RISK_BANDS)]


def action_risk_rank(priority: RiskBand | str, status: ActionStatus | str) -> int:
    """An action's place in "highest risk first": 0 for an open extreme action, the open bands
    in turn, then every closed action after every open one (stored, so an index serves the sort)."""
    closed = ActionStatus(status) in (ActionStatus.COMPLETED, ActionStatus.VERIFIED)
    return HIGHEST_BAND_FIRST.index(RiskBand(priority)) + (len(HIGHEST_BAND_FIRST) if closed else 0)


def _fk(target: str, *, nullable: bool = False, ondelete: str | None = None) -> Any:
    """A foreign key column with an index (every foreign key is indexed)."""
    kwargs: dict[str, Any] = {"foreign_key": target, "index": True, "nullable": nullable}
    if ondelete:
        kwargs["ondelete"] = ondelete
    return Field(default=None, **kwargs)


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _when(index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)


class Versioned:
    """Mixin: the table's `version` column is SQLAlchemy's `version_id_col`.

    Every UPDATE then carries `WHERE version = <loaded>` and sets version + 1, so a
    change that lost a race raises StaleDataError (turned into Conflict by services).
    """

    @declared_attr.directive
    def __mapper_args__(cls) -> dict:
        # SQLModel has put the Column on the class by the time declarative asks.
        return {"version_id_col": cls.__dict__["version"]}


# --- people and places -------------------------------------------------------


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    active: bool = Field(default=True, index=True)
    created_at: datetime = _created_at()

    wards: list["Ward"] = Relationship(back_populates="site")


class WardManager(SQLModel, table=True):
    """Link: a ward manager (operational lead) responsible for a ward."""

    __tablename__ = "ward_manager"
    ward_id: int = Field(foreign_key="ward.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True, ondelete="CASCADE")


class Ward(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("site_id", "name", name="uq_ward_site_name"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = _fk("site.id")
    name: str = Field(max_length=120)
    specialty: str | None = Field(default=None, max_length=120)
    active: bool = Field(default=True, index=True)
    # Token of the public "you said, we did" page; None when sharing is off.
    public_token: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = _created_at()

    site: Site = Relationship(back_populates="wards")
    managers: list["User"] = Relationship(back_populates="managed_wards", link_model=WardManager)

    @property
    def full_name(self) -> str:
        return f"{self.name}, {self.site.name}"


class UserRole(SQLModel, table=True):
    __tablename__ = "user_role"
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    role: Role = Field(sa_type=enum_type(Role), primary_key=True, index=True)

    user: "User" = Relationship(back_populates="role_rows")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=120)
    job_title: str | None = Field(default=None, max_length=120)
    password_hash: str = Field(max_length=255)
    active: bool = Field(default=True, index=True)
    # Set when an administrator chose the password: the user picks their own at the next sign-in.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    calendar_token: str | None = Field(default=None, max_length=64, unique=True)
    password_changed_at: datetime | None = _when()
    last_login_at: datetime | None = _when()
    created_at: datetime = _created_at()
    # Second factor (TOTP): a secret with no confirmed date is an enrolment not finished yet;
    # the time step of the last accepted code refuses that code (and older ones) a second time.
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_confirmed_at: datetime | None = _when()
    totp_last_step: int | None = Field(default=None, sa_type=sa.BigInteger)

    role_rows: list[UserRole] = Relationship(
        back_populates="user", sa_relationship_kwargs={"cascade": "all, delete-orphan"}
    )
    managed_wards: list[Ward] = Relationship(back_populates="managers", link_model=WardManager)

    # Flask-Login protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Flask-Login's id: the secret of the session record this sign-in is bound to
        (set by `services.sessions.bind`), so the cookies name a record, not the user."""
        return self.__dict__["session_secret"]

    @property
    def roles(self) -> frozenset[Role]:
        if "role_rows" not in self.__dict__ and "signed_in_roles" in self.__dict__:
            return self.__dict__["signed_in_roles"]  # read with the session record (services/sessions)
        return frozenset(Role(row.role) for row in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per account or per address, shared by every worker."""

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=300)
    failures: int = Field(default=0)
    last_failure_at: datetime | None = _when()
    blocked_until: datetime | None = _when()


class UserSession(SQLModel, table=True):
    """A signed-in device. The session and remember-me cookies carry a secret whose
    SHA-256 is `secret_hash`; deleting the row signs that device out at once."""

    __tablename__ = "user_session"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    secret_hash: str = Field(max_length=64, unique=True)
    device: str = Field(max_length=120)
    address: str | None = Field(default=None, max_length=64)
    created_at: datetime = _created_at()
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)

    user: User = Relationship()


class ExternalIdentity(SQLModel, table=True):
    """A user's account at the identity provider: found by issuer and subject, never by email."""

    __tablename__ = "external_identity"
    __table_args__ = (
        sa.UniqueConstraint("issuer", "subject", name="uq_external_identity_subject"),
        sa.UniqueConstraint("user_id", "issuer", name="uq_external_identity_user_issuer"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    email_at_link: str | None = Field(default=None, max_length=254)
    linked_at: datetime = _created_at()
    last_sign_in_at: datetime | None = _when()


class RecoveryCode(SQLModel, table=True):
    """A single-use second-factor recovery code, kept as the SHA-256 of an 80-bit random code."""

    __tablename__ = "recovery_code"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64)
    used_at: datetime | None = _when()


class PasswordReset(SQLModel, table=True):
    """A self-service reset link that was sent: usable once, for a short time."""

    __tablename__ = "password_reset"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    created_at: datetime = _created_at()
    used_at: datetime | None = _when()


# --- walkabouts and series -----------------------------------------------------------


class WalkaboutSeries(Versioned, SQLModel, table=True):
    """A recurring series; its occurrences are ordinary walkabouts."""

    __tablename__ = "walkabout_series"
    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = _fk("ward.id")
    lead_id: int = _fk("user.id")
    rule: str = Field(max_length=500)  # RFC 5545 RRULE
    first_start: datetime = Field(sa_type=UTCDateTime)
    duration_minutes: int = Field(default=60)
    focus: str | None = Field(default=None, max_length=200)
    version: int = Field(default=1)
    created_by_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = _created_at()


class WalkaboutAttendee(SQLModel, table=True):
    __tablename__ = "walkabout_attendee"
    walkabout_id: int = Field(foreign_key="walkabout.id", primary_key=True, ondelete="CASCADE")
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)


class Walkabout(Versioned, SQLModel, table=True):
    __table_args__ = (sa.Index("ix_walkabout_ward_start", "ward_id", "scheduled_start"),)

    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = _fk("ward.id")
    lead_id: int = _fk("user.id")
    series_id: int | None = _fk("walkabout_series.id", nullable=True)
    scheduled_start: datetime = Field(sa_type=UTCDateTime, index=True)
    duration_minutes: int = Field(default=60)
    focus: str | None = Field(default=None, max_length=200)
    guests: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=5000)
    status: WalkaboutStatus = Field(
        default=WalkaboutStatus.PLANNED, sa_type=enum_type(WalkaboutStatus), index=True
    )
    is_adhoc: bool = Field(default=False)
    started_at: datetime | None = _when()
    completed_at: datetime | None = _when(index=True)
    cancelled_at: datetime | None = _when()
    cancel_reason: str | None = Field(default=None, max_length=1000)
    cancelled_by_id: int | None = _fk("user.id", nullable=True)
    summary_notes: str | None = Field(default=None, max_length=10000)
    late_notes: str | None = Field(default=None, max_length=10000)
    # Who from the ward took part, e.g. {"Staff nurse": 3, "Healthcare assistant": 2}.
    staff_participation: dict | None = Field(default=None, sa_type=sa.JSON)
    # When the pre-visit brief's tick "open actions from the last visit reviewed with the ward"
    # was set (None: not ticked); who set it is in the audit trail.
    open_actions_reviewed_at: datetime | None = _when()
    calendar_sequence: int = Field(default=0)  # ICS SEQUENCE, bumped on each change
    # The UID calendars already know it by, kept for walkabouts invited before UIDs carried the
    # installation's domain; None: `walkabout-<id>@<domain>` (walkabout/services/ics.py).
    calendar_uid: str | None = Field(default=None, max_length=255)
    version: int = Field(default=1)
    created_by_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()

    ward: Ward = Relationship()
    lead: User = Relationship(sa_relationship_kwargs={"foreign_keys": "Walkabout.lead_id"})
    attendees: list[User] = Relationship(link_model=WalkaboutAttendee)
    concerns: list["Concern"] = Relationship(back_populates="walkabout")
    reschedules: list["WalkaboutReschedule"] = Relationship(back_populates="walkabout")

    @property
    def scheduled_end(self) -> datetime:
        return self.scheduled_start + timedelta(minutes=self.duration_minutes)


class WalkaboutReschedule(SQLModel, table=True):
    __tablename__ = "walkabout_reschedule"
    id: int | None = Field(default=None, primary_key=True)
    walkabout_id: int = _fk("walkabout.id", ondelete="CASCADE")
    from_start: datetime = Field(sa_type=UTCDateTime)
    to_start: datetime = Field(sa_type=UTCDateTime)
    reason: str | None = Field(default=None, max_length=1000)
    by_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = _created_at()

    walkabout: Walkabout = Relationship(back_populates="reschedules")


# --- what staff said ---------------------------------------------------------


class Category(SQLModel, table=True):
    """Contributing-factor category of a concern (admin-editable)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    sort_order: int = Field(default=0)
    active: bool = Field(default=True)


class PromptQuestion(SQLModel, table=True):
    """Script of the conversation: opening, prompt questions, closing (admin-editable)."""

    __tablename__ = "prompt_question"
    id: int | None = Field(default=None, primary_key=True)
    kind: PromptKind = Field(default=PromptKind.QUESTION, sa_type=enum_type(PromptKind))
    text: str = Field(max_length=1000)
    sort_order: int = Field(default=0)
    active: bool = Field(default=True)


class StaffRole(SQLModel, table=True):
    """A role offered for "raised by" and for who took part (admin-editable; concerns keep the text)."""

    __tablename__ = "staff_role"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    sort_order: int = Field(default=0)
    active: bool = Field(default=True)


class PulseStatement(SQLModel, table=True):
    """A statement ward staff rate in the staff pulse (admin-editable)."""

    __tablename__ = "pulse_statement"
    id: int | None = Field(default=None, primary_key=True)
    text: str = Field(max_length=300, unique=True)
    sort_order: int = Field(default=0)
    active: bool = Field(default=True)


class RiskLabel(SQLModel, table=True):
    """The word for one level (1-5) of the risk matrix's likelihood or consequence axis."""

    __tablename__ = "risk_label"
    axis: str = Field(primary_key=True, max_length=20)  # "likelihood" or "consequence"
    level: int = Field(primary_key=True)
    label: str = Field(max_length=40)


class TrustBranding(Versioned, SQLModel, table=True):
    """The trust's name and logo (one row, id 1); an empty name falls back to WALKABOUT_TRUST_NAME."""

    __tablename__ = "trust_branding"
    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=120)
    logo: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    logo_type: str | None = Field(default=None, max_length=20)  # image/png or image/jpeg
    logo_width: int | None = None
    logo_height: int | None = None
    updated_at: datetime | None = _when()
    version: int = Field(default=1)


class DataVersion(SQLModel, table=True):
    """A counter per scope that every commit changing that scope's tables moves on, in the same
    transaction (services/data_version.py): what each process's caches are keyed on."""

    __tablename__ = "data_version"
    scope: str = Field(primary_key=True, max_length=20)
    version: int = Field(default=0, sa_type=sa.BigInteger, sa_column_kwargs={"server_default": "0"})


class Concern(Versioned, SQLModel, table=True):
    __table_args__ = (
        # Home's follow-up lists seek these per walkabout of the user's team and count from the
        # index alone: open concerns (then "has no live action"), and feedback not yet given.
        sa.Index("ix_concern_walkabout_status", "walkabout_id", "status", "kind", "deleted_at"),
        sa.Index(
            "ix_concern_walkabout_feedback",
            "walkabout_id",
            "first_feedback_at",
            "feedback_due_on",
            "kind",
            "deleted_at",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    walkabout_id: int = _fk("walkabout.id")
    category_id: int | None = _fk("category.id", nullable=True)
    kind: ConcernKind = Field(default=ConcernKind.CONCERN, sa_type=enum_type(ConcernKind), index=True)
    text: str = Field(max_length=5000)
    likelihood: int | None = Field(default=None)
    consequence: int | None = Field(default=None)
    risk_score: int | None = Field(default=None, index=True)
    raised_by_role: str | None = Field(default=None, max_length=120)
    immediate_action: str | None = Field(default=None, max_length=2000)
    ward_can_fix: bool = Field(default=False)
    # One of the few items staff care most about, marked at read-back (rules.MAX_PRIORITIES).
    priority: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    status: ConcernStatus = Field(default=ConcernStatus.OPEN, sa_type=enum_type(ConcernStatus), index=True)
    no_action_reason: str | None = Field(default=None, max_length=1000)
    # Staff hear back by this trust-local date (set when the walkabout is completed).
    feedback_due_on: date | None = Field(default=None, index=True)
    # When the first "you said, we did" update was published (it stops the feedback clock):
    # stamped by _stamp_first_feedback, so "feedback overdue" reads an index, not every update.
    first_feedback_at: datetime | None = _when()
    created_by_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = _created_at()
    deleted_at: datetime | None = _when(index=True)
    version: int = Field(default=1)

    walkabout: Walkabout = Relationship(back_populates="concerns")
    category: Category | None = Relationship()
    actions: list["Action"] = Relationship(back_populates="concern")
    photos: list["Photo"] = Relationship(back_populates="concern")
    feedback_updates: list["FeedbackUpdate"] = Relationship(back_populates="concern")

    @property
    def band(self) -> RiskBand | None:
        return risk_band(self.risk_score)


class Photo(SQLModel, table=True):
    """A re-encoded JPEG (EXIF stripped) with its thumbnail, kept in the database."""

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int | None = _fk("concern.id", nullable=True)
    action_update_id: int | None = _fk("action_update.id", nullable=True)
    content_type: str = Field(default="image/jpeg", max_length=40)
    width: int
    height: int
    byte_size: int
    data: bytes = Field(sa_type=sa.LargeBinary)
    thumbnail: bytes = Field(sa_type=sa.LargeBinary)
    uploaded_by_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = _created_at()
    deleted_at: datetime | None = _when()

    concern: Concern | None = Relationship(back_populates="photos")


# --- follow-up ---------------------------------------------------------------


class Action(Versioned, SQLModel, table=True):
    __table_args__ = (
        # The list's counts read this index alone (deleted and concern ids included).
        sa.Index("ix_action_status_due", "status", "due_date", "deleted_at", "concern_id"),
        sa.Index("ix_action_owner_status_due", "owner_id", "status", "due_date"),
        sa.Index("ix_action_risk_rank_due", "risk_rank", "due_date", "id"),
        sa.Index("ix_action_concern_live", "concern_id", "deleted_at"),  # "has a live action"
    )

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = _fk("concern.id")
    description: str = Field(max_length=2000)
    owner_id: int = _fk("user.id")
    due_date: date = Field(index=True)
    priority: RiskBand = Field(default=RiskBand.MODERATE, sa_type=enum_type(RiskBand), index=True)
    status: ActionStatus = Field(default=ActionStatus.OPEN, sa_type=enum_type(ActionStatus))
    risk_rank: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # action_risk_rank()
    closure_note: str | None = Field(default=None, max_length=5000)
    completed_at: datetime | None = _when(index=True)
    completed_by_id: int | None = _fk("user.id", nullable=True)
    verified_at: datetime | None = _when(index=True)
    verified_by_id: int | None = _fk("user.id", nullable=True)
    created_by_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = _created_at()
    deleted_at: datetime | None = _when()
    version: int = Field(default=1)

    concern: Concern = Relationship(back_populates="actions")
    owner: User = Relationship(sa_relationship_kwargs={"foreign_keys": "Action.owner_id"})
    updates: list["ActionUpdate"] = Relationship(back_populates="action")

    @property
    def is_closed(self) -> bool:
        return self.status in (ActionStatus.COMPLETED, ActionStatus.VERIFIED)

    def is_overdue(self, today: date) -> bool:
        """Open past its due date; `today` is the trust-local date."""
        return not self.is_closed and self.due_date < today


@sa.event.listens_for(Action, "before_insert")
@sa.event.listens_for(Action, "before_update")
def _keep_risk_rank(_mapper, _connection, action: Action) -> None:
    action.risk_rank = action_risk_rank(action.priority, action.status)


class ActionUpdate(SQLModel, table=True):
    """One entry of an action's timeline: a comment, a status or due-date change."""

    __tablename__ = "action_update"
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = _fk("action.id", ondelete="CASCADE")
    author_id: int | None = _fk("user.id", nullable=True)
    kind: ActionUpdateKind = Field(sa_type=enum_type(ActionUpdateKind))
    text: str | None = Field(default=None, max_length=5000)
    from_status: ActionStatus | None = Field(default=None, sa_type=enum_type(ActionStatus))
    to_status: ActionStatus | None = Field(default=None, sa_type=enum_type(ActionStatus))
    old_due_date: date | None = None
    new_due_date: date | None = None
    created_at: datetime = _created_at()

    action: Action = Relationship(back_populates="updates")
    author: User | None = Relationship()


class FeedbackDelivery(SQLModel, table=True):
    """ "You said, we did" fed back to a ward's staff, counted in the board pack."""

    __tablename__ = "feedback_delivery"
    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = _fk("ward.id")
    walkabout_id: int | None = _fk("walkabout.id", nullable=True)
    delivered_at: datetime = Field(sa_type=UTCDateTime, index=True)
    method: str | None = Field(default=None, max_length=120)
    notes: str | None = Field(default=None, max_length=2000)
    delivered_by_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = _created_at()


class FeedbackUpdate(SQLModel, table=True):
    """ "You said, we did" about one concern, in plain words for staff (published to the ward page)."""

    __tablename__ = "feedback_update"
    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = _fk("concern.id")
    kind: FeedbackKind = Field(sa_type=enum_type(FeedbackKind))
    text: str = Field(max_length=2000)
    author_id: int | None = _fk("user.id", nullable=True)
    created_at: datetime = _created_at()

    concern: Concern = Relationship(back_populates="feedback_updates")


@sa.event.listens_for(FeedbackUpdate, "after_insert")
def _stamp_first_feedback(_mapper, connection, update: FeedbackUpdate) -> None:
    """The concern's first_feedback_at, in the same transaction: a plain UPDATE, so the concern's
    version (someone may be editing it) and its updated_at stay as they are."""
    concerns = Concern.__table__
    connection.execute(
        sa.update(concerns)
        .where(concerns.c.id == update.concern_id, concerns.c.first_feedback_at.is_(None))
        .values(first_feedback_at=update.created_at)
    )


class ReplacedLink(SQLModel, table=True):
    """A ward page link that was replaced or revoked (its SHA-256, never the token), so an
    old poster's QR code says "this link was replaced" rather than nothing."""

    __tablename__ = "replaced_link"
    token_hash: str = Field(primary_key=True, max_length=64)
    ward_id: int = _fk("ward.id")
    replaced_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class FixAnswer(SQLModel, table=True):
    """A ward staff member's anonymous "did this fix it?" on a concern with final feedback:
    one per device (a random cookie, no person), the last answer standing."""

    __tablename__ = "fix_answer"
    __table_args__ = (
        sa.UniqueConstraint("concern_id", "device", name="uq_fix_answer_device"),
        sa.Index("ix_fix_answer_answered", "answered_at", "fixed"),  # a period's answers, counted
    )
    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = _fk("concern.id")
    device: str = Field(max_length=64)
    fixed: bool
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PulseResponse(SQLModel, table=True):
    """One device's anonymous rating (rules.PULSE_SCALE) of one pulse statement for its
    ward in one quarter ("2026-Q4"); a device answers each quarter once."""

    __tablename__ = "pulse_response"
    __table_args__ = (
        sa.UniqueConstraint("ward_id", "quarter", "device", "statement_id", name="uq_pulse_response_device"),
    )
    id: int | None = Field(default=None, primary_key=True)
    ward_id: int = _fk("ward.id")
    statement_id: int = _fk("pulse_statement.id")
    quarter: str = Field(max_length=7)
    device: str = Field(max_length=64)
    score: int
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LeaderPulseAnswer(SQLModel, table=True):
    """An executive's answer to one pulse statement for the ward they walked, as they believe
    its staff would answer (the perception gap, issue 18): one set per executive per
    walkabout, counted in the quarter the walkabout was completed."""

    __tablename__ = "leader_pulse_answer"
    __table_args__ = (
        sa.UniqueConstraint("walkabout_id", "user_id", "statement_id", name="uq_leader_pulse_answer"),
        sa.Index("ix_leader_pulse_answer_ward_quarter", "ward_id", "quarter"),
    )
    id: int | None = Field(default=None, primary_key=True)
    walkabout_id: int = _fk("walkabout.id")
    user_id: int = _fk("user.id")
    ward_id: int = Field(foreign_key="ward.id")
    statement_id: int = _fk("pulse_statement.id")
    quarter: str = Field(max_length=7)
    score: int
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# --- records of what happened -------------------------------------------------


class AuditEvent(SQLModel, table=True):
    """Append-only trail: who changed what, when. Never updated or deleted."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_event_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    actor_id: int | None = _fk("user.id", nullable=True)
    entity_type: str = Field(max_length=40)
    entity_id: int | None = None
    verb: str = Field(max_length=40)
    changes: dict | None = Field(default=None, sa_type=sa.JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class SentNotification(SQLModel, table=True):
    """A message to send; `dedupe_key` makes each one unique, so it is sent once."""

    __tablename__ = "sent_notification"
    __table_args__ = (sa.Index("ix_sent_notification_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    recipient_id: int | None = _fk("user.id", nullable=True)
    kind: str = Field(max_length=40, index=True)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: int | None = None
    title: str | None = Field(default=None, max_length=300)
    status: NotificationStatus = Field(
        default=NotificationStatus.PENDING, sa_type=enum_type(NotificationStatus)
    )
    due_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = _when()
    read_at: datetime | None = _when()
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _when()
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _created_at()


class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preference"
    user_id: int = Field(foreign_key="user.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(primary_key=True, max_length=40)
    enabled: bool = Field(default=True)


class IdempotencyKey(SQLModel, table=True):
    """A client-generated key per submission, so a retried POST creates one record."""

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _fk("user.id")
    key: str = Field(max_length=64)
    scope: str = Field(max_length=40)
    entity_type: str | None = Field(default=None, max_length=40)
    entity_id: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class BoardPack(SQLModel, table=True):
    """An issued monthly board pack: the exact PDF and figures, versioned per month."""

    __tablename__ = "board_pack"
    __table_args__ = (sa.UniqueConstraint("month", "version", name="uq_board_pack_month_version"),)

    id: int | None = Field(default=None, primary_key=True)
    month: str = Field(max_length=7, index=True)  # YYYY-MM
    version: int = Field(default=1)
    status: BoardPackStatus = Field(default=BoardPackStatus.PENDING, sa_type=enum_type(BoardPackStatus))
    pdf: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    figures: dict | None = Field(default=None, sa_type=sa.JSON)
    error: str | None = Field(default=None, max_length=2000)
    requested_by_id: int | None = _fk("user.id", nullable=True)
    requested_at: datetime = _created_at()
    completed_at: datetime | None = _when()


class ReportThreshold(SQLModel, table=True):
    """An administrator's RAG thresholds for one board pack figure (defaults in services/rag.py)."""

    __tablename__ = "report_threshold"
    id: int | None = Field(default=None, primary_key=True)
    figure: str = Field(max_length=40, unique=True)
    green: int
    amber: int
    updated_by_id: int | None = _fk("user.id", nullable=True)
    updated_at: datetime = _created_at()


class StatusChange(SQLModel, table=True):
    """A concern's or action's move from one status to another, and when (issue 19).

    Written by the services that change status ("live"), and rebuilt for what happened
    before from the actions' timelines and the audit trail ("rebuilt"). A record with
    no rows has kept the status it was created with (open)."""

    __tablename__ = "status_change"
    __table_args__ = (sa.Index("ix_status_change_entity", "entity_type", "entity_id", "changed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(max_length=20)  # "concern" or "action"
    entity_id: int
    from_status: str | None = Field(default=None, max_length=40)
    to_status: str = Field(max_length=40)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    source: str = Field(default="live", max_length=10)
