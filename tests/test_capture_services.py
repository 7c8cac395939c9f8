"""Services of the capture screen: risk scoring, validation, idempotency, start and complete."""

import pytest
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.models import (
    AuditEvent,
    Concern,
    ConcernKind,
    FeedbackDelivery,
    IdempotencyKey,
    Photo,
    RiskBand,
    Role,
    Walkabout,
    WalkaboutStatus,
    risk_band,
)
from walkabout.services import Conflict, Forbidden, ServiceError, capture, concerns
from walkabout.services.concerns import ConcernInput, ConcernInvalid
from walkabout.services.photos import PhotoRejected

from .photo_samples import jpeg_with_gps


@pytest.mark.parametrize(
    "likelihood, consequence, score, band",
    [
        (1, 1, 1, RiskBand.LOW),
        (1, 3, 3, RiskBand.LOW),
        (2, 2, 4, RiskBand.MODERATE),
        (2, 3, 6, RiskBand.MODERATE),
        (2, 4, 8, RiskBand.HIGH),
        (3, 4, 12, RiskBand.HIGH),
        (3, 5, 15, RiskBand.EXTREME),
        (5, 5, 25, RiskBand.EXTREME),
    ],
)
def test_risk_score_and_band_follow_the_nhs_matrix(likelihood, consequence, score, band):
    assert concerns.risk_score(likelihood, consequence) == score
    assert risk_band(score) == band


def test_risk_score_needs_both_and_refuses_out_of_range():
    assert concerns.risk_score(None, 3) is None
    with pytest.raises(ConcernInvalid, match="likelihood from 1 to 5") as error:
        concerns.risk_score(0, 3)
    assert error.value.field == "likelihood"
    with pytest.raises(ConcernInvalid, match="consequence from 1 to 5"):
        concerns.risk_score(3, 6)


@pytest.fixture
def running(app, factory):
    """An executive leading a walkabout in progress."""
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    return executive, walkabout


def _load(session, walkabout):
    return capture.load_walkabout(session, walkabout.id)


@pytest.mark.parametrize(
    "data, field, message",
    [
        (ConcernInput(text="   "), "text", "Write what was said"),
        (ConcernInput(text="x" * 5001), "text", "under 5,000"),
        (ConcernInput(text="ok", kind="rumour"), "kind", "concern or good practice"),
        (ConcernInput(text="ok", category_id=99999), "category_id", "category from the list"),
        (ConcernInput(text="ok", likelihood=6, consequence=2), "likelihood", "1 to 5"),
        (ConcernInput(text="ok", likelihood=2), "consequence", "consequence too"),
        (ConcernInput(text="ok", raised_by_role="r" * 121), "raised_by_role", "under 120"),
    ],
)
def test_validation_names_the_field_at_fault(app, running, data, field, message):
    executive, walkabout = running
    with session_scope(app) as session:
        with pytest.raises(ConcernInvalid, match=message) as error:
            concerns.log_concern(session, executive, _load(session, walkabout), data)
        assert error.value.field == field
        assert session.exec(select(func.count()).select_from(Concern)).one() == 0


def test_good_practice_has_no_score_and_text_is_trimmed(app, running, factory):
    executive, walkabout = running
    with session_scope(app) as session:
        concern, created = concerns.log_concern(
            session,
            executive,
            _load(session, walkabout),
            ConcernInput(
                text="  Great handover board  ",
                kind=ConcernKind.GOOD_PRACTICE,
                likelihood=5,
                consequence=5,
                category_id=factory.category_id("Communication"),
                ward_can_fix=True,
            ),
        )
        assert created and concern.text == "Great handover board"
        assert concern.risk_score is None and concern.likelihood is None and not concern.ward_can_fix
        audit = session.exec(select(AuditEvent).where(AuditEvent.entity_type == "concern")).one()
        assert audit.verb == "created" and audit.actor_id == executive.id


def test_same_key_twice_makes_one_concern(app, running):
    executive, walkabout = running
    data = ConcernInput(text="Sharps bin overfull", likelihood=3, consequence=4)
    with session_scope(app) as session:
        first, created = concerns.log_concern(
            session, executive, _load(session, walkabout), data, key="key-12345678"
        )
        assert created
    with session_scope(app) as session:
        again, created = concerns.log_concern(
            session, executive, _load(session, walkabout), data, key="key-12345678"
        )
        assert not created and again.id == first.id
        assert session.exec(select(func.count()).select_from(Concern)).one() == 1
        loaded = _load(session, walkabout)
        loaded.status = WalkaboutStatus.COMPLETED  # a resend after completion still gets its concern
        assert concerns.log_concern(session, executive, loaded, data, key="key-12345678")[0].id == first.id
        with pytest.raises(Conflict):
            concerns.log_concern(session, executive, loaded, data, key="key-87654321")
        assert session.exec(select(IdempotencyKey)).one().entity_id == first.id


def test_photo_is_stored_re_encoded_and_a_bad_one_refused(app, running):
    executive, walkabout = running
    with session_scope(app) as session:
        concern, _ = concerns.log_concern(
            session,
            executive,
            _load(session, walkabout),
            ConcernInput(text="Wet floor"),
            photo=jpeg_with_gps(2000, 1500),
        )
        photo = session.exec(select(Photo)).one()
        assert photo.concern_id == concern.id and max(photo.width, photo.height) == 1600
        assert b"PhoneMaker" not in photo.data
    with session_scope(app) as session, pytest.raises(PhotoRejected):
        concerns.log_concern(
            session,
            executive,
            _load(session, walkabout),
            ConcernInput(text="Not a photo"),
            photo=b"MZ\x90\x00" + b"\x00" * 100,
        )


def test_only_executives_on_the_team_capture_and_only_in_progress(app, factory):
    lead = factory.user(Role.EXECUTIVE)
    attendee = factory.user(Role.EXECUTIVE)
    outsider = factory.user(Role.EXECUTIVE)
    manager = factory.user(Role.WARD_MANAGER)
    walkabout = factory.walkabout(factory.ward(), lead)
    factory.attend(walkabout, attendee, manager)
    with session_scope(app) as session:
        loaded = _load(session, walkabout)
        for user in (outsider, manager):
            with pytest.raises(Forbidden):
                capture.start(session, user, loaded)
        with pytest.raises(Conflict, match="not been started"):
            concerns.log_concern(session, attendee, loaded, ConcernInput(text="x"))
        capture.start(session, attendee, loaded)
        capture.start(session, lead, loaded)  # a second start is harmless
        assert loaded.status == WalkaboutStatus.IN_PROGRESS and loaded.started_at is not None
        assert loaded.version == 2


def test_complete_records_participation_and_feedback_then_refuses_logging(app, running):
    executive, walkabout = running
    with app.app_context(), session_scope(app) as session:
        loaded = _load(session, walkabout)
        with pytest.raises(Conflict):
            capture.complete(
                session,
                executive,
                loaded,
                summary_notes="",
                participation={},
                feedback_given=True,
                feedback_notes=None,
                version=loaded.version + 5,
            )
        capture.complete(
            session,
            executive,
            loaded,
            summary_notes=" Good visit ",
            participation={"Staff nurse": 3, "Porter": 0},
            feedback_given=True,
            feedback_notes="Told them about the new hoist",
            version=loaded.version,
        )
    with session_scope(app) as session:
        loaded = _load(session, walkabout)
        assert loaded.status == WalkaboutStatus.COMPLETED and loaded.completed_at
        assert loaded.staff_participation == {"Staff nurse": 3}
        assert loaded.summary_notes == "Good visit"
        # "Feedback given today" is a delivery: the record the ward page and the board pack read.
        delivery = session.exec(select(FeedbackDelivery)).one()
        assert (delivery.walkabout_id, delivery.ward_id) == (loaded.id, loaded.ward_id)
        assert delivery.notes == "Told them about the new hoist" and delivery.delivered_by_id == executive.id
        with pytest.raises(Conflict, match="completed"):
            concerns.log_concern(session, executive, loaded, ConcernInput(text="Too late"))


def test_late_notes_are_appended_by_executives_and_audited(app, factory):
    lead = factory.user(Role.EXECUTIVE)
    other = factory.user(Role.EXECUTIVE, name="Olu Other")
    secretary = factory.user(Role.BOARD_SECRETARY)
    walkabout = factory.walkabout(factory.ward(), lead, status=WalkaboutStatus.COMPLETED)
    with app.test_request_context(), session_scope(app) as session:
        loaded = _load(session, walkabout)
        with pytest.raises(Forbidden):
            capture.add_late_note(session, secretary, loaded, "x")
        with pytest.raises(ServiceError, match="Write the note"):
            capture.add_late_note(session, other, loaded, "  ")
        capture.add_late_note(session, other, loaded, "Estates fixed the door the next day.")
        capture.add_late_note(session, lead, loaded, "Second note.")
    with session_scope(app) as session:
        loaded = session.get(Walkabout, walkabout.id)
        assert "Olu Other: Estates fixed the door" in loaded.late_notes and loaded.late_notes.endswith(
            "Second note."
        )
        verbs = session.exec(
            select(AuditEvent.verb).where(
                AuditEvent.entity_id == walkabout.id, AuditEvent.entity_type == "walkabout"
            )
        ).all()
        assert verbs.count("late_note_added") == 2


def test_adhoc_walkabout_starts_now_once_per_key(app, factory):
    executive = factory.user(Role.EXECUTIVE)
    ward = factory.ward()
    with session_scope(app) as session:
        first = capture.start_adhoc(session, executive, ward.id, key="adhoc-key-1")
        assert (
            first.is_adhoc and first.status == WalkaboutStatus.IN_PROGRESS and first.lead_id == executive.id
        )
        with pytest.raises(ServiceError, match="Choose a ward"):
            capture.start_adhoc(session, executive, 999999)
    with session_scope(app) as session:
        assert capture.start_adhoc(session, executive, ward.id, key="adhoc-key-1").id == first.id
        assert session.exec(select(func.count()).select_from(Walkabout)).one() == 1


def test_edit_checks_the_version_and_delete_is_soft(app, running, factory):
    executive, walkabout = running
    concern_row = factory.concern(walkabout)
    with session_scope(app) as session:
        loaded = _load(session, walkabout)
        concern = concerns.get_concern(session, loaded, concern_row.id)
        with pytest.raises(Conflict, match="changed this item"):
            concerns.update_concern(session, executive, concern, ConcernInput(text="new"), version=99)
        concerns.update_concern(
            session,
            executive,
            concern,
            ConcernInput(text="Edited", likelihood=5, consequence=4),
            version=concern.version,
        )
        assert concern.risk_score == 20 and concern.version == 2
        concerns.delete_concern(session, executive, concern)
    with session_scope(app) as session:
        assert concerns.live_concerns(session, walkabout.id) == []
        assert session.get(Concern, concern_row.id).deleted_at is not None
