"""What the capture page shows of a walkabout, as plain data kept at the data version
(services/versioned_cache): its ward, team and live concerns.

The rows mirror the ORM objects' attribute names (`walkabout.ward.site.name`, `concern.category.name`,
`concern.photos`), so the capture templates render them and a posted concern (an ORM row) alike."""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from ..models import Concern, ConcernKind, Walkabout, WalkaboutStatus
from . import capture, concerns, versioned_cache


@dataclass(frozen=True, slots=True)
class Named:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class WardRef:
    id: int
    name: str
    site: Named


@dataclass(frozen=True, slots=True)
class PhotoRef:
    id: int
    deleted_at: None = None  # only live photos are kept


@dataclass(frozen=True, slots=True)
class ConcernRow:
    """One logged item as the capture list shows it."""

    id: int
    kind: ConcernKind
    text: str
    risk_score: int | None
    created_at: datetime
    category: Named | None
    raised_by_role: str | None
    ward_can_fix: bool
    immediate_action: str | None
    photos: tuple[PhotoRef, ...]

    @classmethod
    def of(cls, concern: Concern) -> "ConcernRow":
        category = concern.category
        return cls(
            id=concern.id,
            kind=concern.kind,
            text=concern.text,
            risk_score=concern.risk_score,
            created_at=concern.created_at,
            category=Named(category.id, category.name) if category is not None else None,
            raised_by_role=concern.raised_by_role,
            ward_can_fix=concern.ward_can_fix,
            immediate_action=concern.immediate_action,
            photos=tuple(PhotoRef(photo.id) for photo in concern.photos if photo.deleted_at is None),
        )


@dataclass(frozen=True, slots=True)
class CaptureView:
    """The walkabout with its ward, team and live concerns (newest first)."""

    id: int
    status: WalkaboutStatus
    is_adhoc: bool
    scheduled_start: datetime
    lead_id: int
    lead: Named
    attendees: tuple[Named, ...]
    ward: WardRef
    concerns: tuple[ConcernRow, ...]

    @classmethod
    def of(cls, walkabout: Walkabout, items: list[Concern]) -> "CaptureView":
        ward = walkabout.ward
        return cls(
            id=walkabout.id,
            status=walkabout.status,
            is_adhoc=walkabout.is_adhoc,
            scheduled_start=walkabout.scheduled_start,
            lead_id=walkabout.lead_id,
            lead=Named(walkabout.lead.id, walkabout.lead.name),
            attendees=tuple(Named(person.id, person.name) for person in walkabout.attendees),
            ward=WardRef(ward.id, ward.name, Named(ward.site.id, ward.site.name)),
            concerns=tuple(ConcernRow.of(concern) for concern in items),
        )


def view(session: Session, walkabout_id: int) -> CaptureView:
    """The walkabout as the capture page shows it, or NotFound; built again after any change."""

    def build() -> CaptureView:
        walkabout = capture.load_walkabout(session, walkabout_id)
        return CaptureView.of(walkabout, concerns.live_concerns(session, walkabout_id))

    return versioned_cache.remember(session, ("capture_view", walkabout_id), build)
