"""A realistic demo trust for `flask --app walkabout seed-demo`.

Rows are written with bulk inserts and ids assigned here, so the large trust
(120 wards, 10 years) seeds in seconds. Randomness is seeded: the same command
gives the same trust.
"""

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, insert, text
from sqlmodel import Session, SQLModel, select

from . import rules
from .db_types import utcnow
from .defaults import STAFF_ROLES
from .models import (
    Action,
    ActionStatus,
    ActionUpdate,
    ActionUpdateKind,
    AuditEvent,
    Category,
    Concern,
    ConcernKind,
    ConcernStatus,
    FeedbackDelivery,
    FeedbackKind,
    FeedbackUpdate,
    Role,
    Site,
    User,
    UserRole,
    Walkabout,
    WalkaboutAttendee,
    WalkaboutReschedule,
    WalkaboutStatus,
    Ward,
    WardManager,
    action_risk_rank,
    risk_band,
)
from .services.accounts import hash_password
from .services.feedback import AT_THE_WALKABOUT

DEMO_LOGINS = [
    ("executive@example.org", "Executive"),
    ("manager@example.org", "Ward manager"),
    ("secretary@example.org", "Board secretary"),
    ("admin@example.org", "Administrator"),
]

SCALES = {
    # sites, wards, extra executives, days of history, walkabouts a week, concerns per walkabout
    "small": dict(sites=2, wards=12, executives=3, history_days=180, per_week=2.0, concerns=(3, 7)),
    "large": dict(sites=4, wards=120, executives=10, history_days=3650, per_week=2.9, concerns=(6, 14)),
    # 3x large (about 60,000 actions), for benchmarks of cost against data size: per ward and per
    # person it looks like the large trust, there is just three times as much of it.
    "xlarge": dict(sites=12, wards=360, executives=30, history_days=3650, per_week=8.7, concerns=(6, 14)),
}

SITE_NAMES = [
    "Riverside General Hospital",
    "St Anne's Hospital",
    "Northgate Community Hospital",
    "Millbrook Women's and Children's Hospital",
    "Eastfield Hospital",
    "Harbour View Hospital",
    "Kingsmead Hospital",
    "Oakwood Rehabilitation Centre",
    "Westbrook General Hospital",
    "Fairhaven Community Hospital",
    "Ashby Royal Infirmary",
    "Linford Mental Health Unit",
]
WARD_NAMES = [
    "Beech",
    "Cedar",
    "Elm",
    "Hazel",
    "Juniper",
    "Larch",
    "Maple",
    "Oak",
    "Rowan",
    "Willow",
    "Ash",
    "Birch",
    "Holly",
    "Linden",
    "Poplar",
    "Sycamore",
    "Alder",
    "Aspen",
    "Chestnut",
    "Yew",
]
SPECIALTIES = [
    "Cardiology",
    "Respiratory",
    "Acute Medical Unit",
    "Elderly Care",
    "Stroke",
    "Orthopaedics",
    "General Surgery",
    "Maternity",
    "Paediatrics",
    "Emergency Department",
    "Critical Care",
    "Renal",
    "Oncology",
    "Haematology",
    "Gastroenterology",
    "Urology",
    "Day Surgery",
    "Rehabilitation",
]
FIRST_NAMES = [
    "Sarah",
    "James",
    "Priya",
    "Tom",
    "Aisha",
    "David",
    "Emma",
    "Kwame",
    "Rachel",
    "Daniel",
    "Fatima",
    "Michael",
    "Hannah",
    "Olu",
    "Sophie",
    "Raj",
    "Grace",
    "Liam",
    "Chloe",
    "Ibrahim",
]
LAST_NAMES = [
    "Okafor",
    "Hughes",
    "Patel",
    "Bennett",
    "Khan",
    "Morgan",
    "Walsh",
    "Mensah",
    "Clarke",
    "Evans",
    "Ahmed",
    "Reid",
    "Price",
    "Adeyemi",
    "Turner",
    "Sharma",
    "Lewis",
    "Doyle",
    "Ward",
    "Hassan",
]
EXEC_TITLES = [
    "Chief Nurse",
    "Medical Director",
    "Chief Operating Officer",
    "Chief Executive",
    "Director of Quality",
    "Non-executive Director",
    "Deputy Chief Nurse",
    "Director of Estates",
    "Chief People Officer",
    "Director of Finance",
    "Associate Medical Director",
]

CONCERNS = {
    "Staffing": [
        "Night shifts often run one registered nurse short; agency cover arrives late or not at all.",
        "No ward clerk at weekends, so nurses answer the phone and chase notes instead of caring.",
        "Only one nurse on the ward trained to give IV antibiotics on most late shifts.",
    ],
    "Equipment": [
        "Only one working bladder scanner for the whole floor; staff borrow from the next ward.",
        "Infusion pumps are often missing giving sets, delaying antibiotics by up to an hour.",
        "The hoist battery fails mid-shift; there is no spare charger.",
        "Two of the four observation machines give unreliable blood pressure readings.",
    ],
    "Environment": [
        "Sluice room door lock is broken; cleaning chemicals can be reached by confused patients.",
        "The bay lights flicker at night and staff cannot see drug labels clearly.",
        "Corridor used to store beds and equipment blocks the fire exit route.",
    ],
    "Communication": [
        "Patients arrive from ED without a medication history, so first doses are delayed.",
        "Handover sheet is different on days and nights, and allergies get missed.",
        "Results from the lab are phoned to the ward but nobody knows who took the call.",
    ],
    "Medication": [
        "Controlled drug keys are held by one nurse, delaying pain relief during busy periods.",
        "Look-alike insulin pens are stored side by side in the fridge.",
        "Pharmacy top-up comes after the lunchtime round, so doses are missed or borrowed.",
    ],
    "Infection prevention": [
        "Hand gel dispensers at the bay entrances are empty more often than not.",
        "Side rooms are not cleaned promptly after discharge of infectious patients.",
        "Commode cleaning is not recorded, so nobody knows which are clean.",
    ],
    "Patient flow": [
        "Patients are boarded in the corridor overnight when the ward is full.",
        "Discharges wait hours for take-home medication, blocking beds for admissions.",
        "Outliers from other specialties are not reviewed by their own team every day.",
    ],
    "Training": [
        "New starters have not had sepsis screening training before working nights.",
        "Staff are unsure how to use the new electronic observations tablets.",
        "No one on the late shift has completed the deteriorating patient course.",
    ],
    "Other": [
        "Relatives are not sure whom to ask for updates and call the ward repeatedly.",
        "The ward's incident reports rarely get feedback, so staff stop reporting.",
    ],
}
GOOD_PRACTICE = [
    "Safety huddle at 08:30 every day; staff say it catches problems before they happen.",
    "Healthcare assistants run a 'falls bay' with a dedicated member of staff at all times.",
    "Ward has a visual board of patients at risk of pressure ulcers, updated each shift.",
    "Pharmacist joins the morning board round and reviews every new admission.",
    "Student nurses feel welcomed: each has a named buddy for the whole placement.",
    "Staff introduced a 'red tray' so protected mealtimes are kept for patients who need help.",
]
ACTIONS = {
    "Staffing": [
        "Review the night rota with the matron and agree a minimum safe staffing plan.",
        "Recruit a weekend ward clerk through the bank office.",
    ],
    "Equipment": [
        "Order a second device through the medical equipment library.",
        "Add the item to the daily equipment check and report faults to EBME.",
    ],
    "Environment": [
        "Raise an estates job and confirm the repair with the ward manager.",
        "Clear the corridor and agree a storage area with facilities.",
    ],
    "Communication": [
        "Agree one handover template across days and nights.",
        "Set up a results log by the nurses' station.",
    ],
    "Medication": [
        "Review controlled drug key holding with pharmacy.",
        "Separate look-alike medicines and add shelf warning labels.",
    ],
    "Infection prevention": [
        "Add hand gel refills to the housekeeper's daily checklist.",
        "Audit side room cleaning times for four weeks.",
    ],
    "Patient flow": [
        "Escalate corridor care to the site team and record each occurrence.",
        "Order take-home medication the day before planned discharge.",
    ],
    "Training": [
        "Book all new starters onto sepsis training within their first month.",
        "Arrange a floor-walker for the electronic observations rollout.",
    ],
    "Other": [
        "Set up a relatives' information board with named contacts.",
        "Share incident feedback at the weekly team meeting.",
    ],
}
DUE_DAYS = {"extreme": 7, "high": 14, "moderate": 30, "low": 60}


def seed(session: Session, password: str, scale: str = "small") -> dict[str, int]:
    """Create the demo trust in `session` (not committed); returns row counts."""
    return _Seeder(session, password, SCALES[scale]).run()


class _Seeder:
    def __init__(self, session: Session, password: str, scale: dict):
        self.session = session
        self.scale = scale
        self.rng = random.Random(20260401)
        self.zone = ZoneInfo(current_app.config["TIMEZONE"])
        self.now = utcnow()
        self.today = self.now.astimezone(self.zone).date()
        self.password_hash = hash_password(password)  # one hash: the demo users share a password
        self.categories = {c.name: c.id for c in session.exec(select(Category)).all()}
        if not self.categories:
            raise RuntimeError("No categories: run `flask --app walkabout db-upgrade` first.")
        self.counts: dict[str, int] = {}

    def run(self) -> dict[str, int]:
        sites = self._sites()
        wards = self._wards(sites)
        executives, managers = self._users(wards)
        self._walkabouts(wards, executives, managers)
        self._reset_sequences()
        self.session.add(AuditEvent(entity_type="trust", verb="demo_seeded", changes=self.counts))
        return self.counts

    # -- helpers ----------------------------------------------------------

    def _bulk(self, model: type[SQLModel], rows: list[dict], label: str | None = None) -> None:
        columns = {key for row in rows for key in row}
        rows = [{column: row.get(column) for column in columns} for row in rows]
        for start in range(0, len(rows), 5000):
            self.session.execute(insert(model.__table__), rows[start : start + 5000])
        if label:
            self.counts[label] = self.counts.get(label, 0) + len(rows)

    def _local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone).astimezone(UTC)

    def _person(self, index: int) -> str:
        return f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[(index * 7 + 3) % len(LAST_NAMES)]}"

    # -- places and people ------------------------------------------------

    def _sites(self) -> list[dict]:
        rows = [
            dict(id=i + 1, name=SITE_NAMES[i], active=True, created_at=self.now)
            for i in range(self.scale["sites"])
        ]
        self._bulk(Site, rows, "sites")
        return rows

    def _wards(self, sites: list[dict]) -> list[dict]:
        rows = []
        for i in range(self.scale["wards"]):
            site = sites[i % len(sites)]
            name = f"{WARD_NAMES[i % len(WARD_NAMES)]} Ward"
            if i >= len(WARD_NAMES):
                name = f"{WARD_NAMES[i % len(WARD_NAMES)]} {i // len(WARD_NAMES) + 1} Ward"
            rows.append(
                dict(
                    id=i + 1,
                    site_id=site["id"],
                    name=name,
                    specialty=SPECIALTIES[i % len(SPECIALTIES)],
                    active=True,
                    created_at=self.now,
                )
            )
        self._bulk(Ward, rows, "wards")
        return rows

    def _users(self, wards: list[dict]) -> tuple[list[int], dict[int, int]]:
        users, roles = [], []

        def add(email: str, name: str, title: str, *user_roles: Role) -> int:
            user_id = len(users) + 1
            users.append(
                dict(
                    id=user_id,
                    email=email,
                    name=name,
                    job_title=title,
                    password_hash=self.password_hash,
                    active=True,
                    created_at=self.now,
                    password_changed_at=self.now,
                )
            )
            roles.extend(dict(user_id=user_id, role=role.value) for role in user_roles)
            return user_id

        executives = [add("executive@example.org", "Sarah Okafor", "Chief Nurse", Role.EXECUTIVE)]
        manager_id = add("manager@example.org", "Tom Bennett", "Ward Manager", Role.WARD_MANAGER)
        add("secretary@example.org", "Priya Patel", "Board Secretary", Role.BOARD_SECRETARY)
        add("admin@example.org", "David Hughes", "Systems Administrator", Role.ADMIN)
        for i in range(self.scale["executives"]):
            name = self._person(i + 4)
            executives.append(
                add(f"exec{i + 1}@example.org", name, EXEC_TITLES[(i + 1) % len(EXEC_TITLES)], Role.EXECUTIVE)
            )
        # The demo ward manager runs the first two wards; every other ward has its own manager.
        ward_manager = {wards[0]["id"]: manager_id, wards[1]["id"]: manager_id}
        for i, ward in enumerate(wards[2:]):
            ward_manager[ward["id"]] = add(
                f"ward{ward['id']}.manager@example.org",
                self._person(i + 20),
                "Ward Manager",
                Role.WARD_MANAGER,
            )
        # A former manager, deactivated, to show that people leave and their records stay.
        gone = add("former.manager@example.org", "Kwame Mensah", "Ward Manager", Role.WARD_MANAGER)
        users[gone - 1]["active"] = False
        self._bulk(User, users, "users")
        self._bulk(UserRole, roles)
        self._bulk(WardManager, [dict(ward_id=w, user_id=u) for w, u in ward_manager.items()])
        return executives, ward_manager

    # -- the programme and what was found ----------------------------------

    def _walkabout_days(self) -> list[date]:
        """Weekdays with a walkabout: history, today, and eight weeks ahead."""
        start = self.today - timedelta(days=self.scale["history_days"])
        days, day = [], start
        chance = self.scale["per_week"] / 5
        while day <= self.today + timedelta(days=56):
            if day.weekday() < 5:
                # Over five a week, several a day; one draw a day keeps the smaller trusts as they were.
                count = int(chance)
                count += self.rng.random() < chance - count
                days.extend([day] * count)
            day += timedelta(days=1)
        if self.today not in days:
            days.append(self.today)
        return sorted(days)

    def _walkabouts(self, wards: list[dict], executives: list[int], managers: dict[int, int]) -> None:
        walkabouts, attendees, reschedules = [], [], []
        concerns, actions, updates = [], [], []
        deliveries, feedback_updates = [], []
        days = self._walkabout_days()
        demo = days.index(self.today)  # today's first: the demo executive's, on the demo manager's ward
        for number, day in enumerate(days):
            ward = wards[number % len(wards)] if number != demo else wards[0]
            lead = executives[number % len(executives)] if number != demo else executives[0]
            start = self._local(day, self.rng.choice([10, 14, 14, 15]), self.rng.choice([0, 30]))
            walkabout_id = len(walkabouts) + 1
            row = dict(
                id=walkabout_id,
                ward_id=ward["id"],
                lead_id=lead,
                series_id=None,
                scheduled_start=start,
                duration_minutes=60,
                status=WalkaboutStatus.PLANNED.value,
                is_adhoc=False,
                calendar_sequence=0,
                version=1,
                created_by_id=lead,
                created_at=start - timedelta(days=60),
                updated_at=start - timedelta(days=60),
                focus=None,
                guests=None,
            )
            walkabouts.append(row)
            other = executives[(number + 3) % len(executives)]
            if other != lead:
                attendees.append(dict(walkabout_id=walkabout_id, user_id=other))
            if self.rng.random() < 0.08:
                moved_from = start - timedelta(days=self.rng.choice([2, 7, 14]))
                reschedules.append(
                    dict(
                        walkabout_id=walkabout_id,
                        from_start=moved_from,
                        to_start=start,
                        reason="Clashed with an incident review meeting.",
                        by_id=lead,
                        created_at=moved_from - timedelta(days=5),
                    )
                )
                row["calendar_sequence"] = 1
            if start >= self.now or day == self.today:
                continue
            if self.rng.random() < 0.04:
                row.update(
                    status=WalkaboutStatus.CANCELLED.value,
                    cancelled_at=start - timedelta(days=1),
                    cancel_reason="Ward on outbreak closure.",
                    cancelled_by_id=lead,
                    calendar_sequence=row["calendar_sequence"] + 1,
                )
                continue
            feedback = self.rng.random() < 0.65
            row.update(
                status=WalkaboutStatus.COMPLETED.value,
                started_at=start,
                completed_at=start + timedelta(minutes=55),
                summary_notes="Open, constructive conversation with the team.",
                staff_participation={
                    "Staff nurse": self.rng.randint(1, 4),
                    "Healthcare assistant": self.rng.randint(0, 3),
                },
            )
            first = len(concerns)
            self._findings(row, managers[ward["id"]], concerns, actions, updates)
            self._feedback(row, concerns[first:], deliveries, feedback_updates, feedback)
        self._bulk(Walkabout, walkabouts, "walkabouts")
        self._bulk(WalkaboutAttendee, attendees)
        self._bulk(WalkaboutReschedule, reschedules)
        self._bulk(Concern, concerns, "concerns")
        self._bulk(Action, actions, "actions")
        self._bulk(ActionUpdate, updates)
        self._bulk(FeedbackDelivery, deliveries)
        self._bulk(FeedbackUpdate, feedback_updates)

    def _feedback(self, walkabout: dict, found: list, deliveries: list, said: list, given: bool) -> None:
        """Each concern's feedback due date; a visit fed back on the day has its delivery and updates."""
        start = walkabout["started_at"]
        due = start.astimezone(self.zone).date() + timedelta(days=rules.FEEDBACK_DAYS)
        for concern in found:
            if concern["kind"] == ConcernKind.CONCERN.value:
                concern["feedback_due_on"] = due
        if not given:
            return
        at = start + timedelta(minutes=50)
        deliveries.append(
            dict(
                ward_id=walkabout["ward_id"],
                walkabout_id=walkabout["id"],
                delivered_at=at,
                method=AT_THE_WALKABOUT,
                notes=None,
                delivered_by_id=walkabout["lead_id"],
                created_at=at,
            )
        )
        for concern in found:
            if concern["kind"] != ConcernKind.CONCERN.value:
                continue
            if concern["status"] == ConcernStatus.OPEN.value:
                kind, text = FeedbackKind.INTERIM, "An action is under way; we will tell you when it is done."
            elif concern["status"] == ConcernStatus.RESOLVED.value:
                kind, text = FeedbackKind.FINAL, "Done: the actions were completed and checked."
            else:
                kind, text = FeedbackKind.FINAL, concern["no_action_reason"] or "No action was needed."
            said.append(
                dict(
                    concern_id=concern["id"],
                    kind=kind.value,
                    text=text,
                    author_id=walkabout["lead_id"],
                    created_at=min(at + timedelta(days=3), self.now),
                )
            )

    def _findings(self, walkabout: dict, owner: int, concerns: list, actions: list, updates: list) -> None:
        low, high = self.scale["concerns"]
        logged_at = walkabout["started_at"]
        for _ in range(self.rng.randint(low, high)):
            logged_at += timedelta(minutes=self.rng.randint(2, 6))
            concern_id = len(concerns) + 1
            good = self.rng.random() < 0.12
            category = self.rng.choice(list(CONCERNS))
            likelihood = None if good else self.rng.randint(1, 5)
            consequence = None if good else self.rng.choice([1, 2, 2, 3, 3, 3, 4, 4, 5])
            score = likelihood * consequence if not good else None
            row = dict(
                id=concern_id,
                walkabout_id=walkabout["id"],
                category_id=self.categories[category],
                kind=(ConcernKind.GOOD_PRACTICE if good else ConcernKind.CONCERN).value,
                text=self.rng.choice(GOOD_PRACTICE if good else CONCERNS[category]),
                likelihood=likelihood,
                consequence=consequence,
                risk_score=score,
                raised_by_role=self.rng.choice(STAFF_ROLES),
                ward_can_fix=False,
                status=ConcernStatus.OPEN.value,
                created_by_id=walkabout["lead_id"],
                created_at=logged_at,
                updated_at=logged_at,
                version=1,
                immediate_action=None,
                no_action_reason=None,
            )
            concerns.append(row)
            if good:
                row.update(
                    status=ConcernStatus.NO_ACTION_NEEDED.value, no_action_reason="Good practice, shared."
                )
                continue
            if score <= 3 and self.rng.random() < 0.3:
                row.update(
                    ward_can_fix=True,
                    immediate_action="Sorted by the ward sister during the visit.",
                    status=ConcernStatus.NO_ACTION_NEEDED.value,
                    no_action_reason="Fixed on the spot.",
                )
                continue
            statuses = [
                self._add_action(row, category, owner, actions, updates)
                for _ in range(self.rng.choice([1, 1, 1, 1, 1, 2, 2, 2, 2, 3]))
            ]
            if all(status == ActionStatus.VERIFIED for status in statuses):
                row["status"] = ConcernStatus.RESOLVED.value

    def _add_action(
        self, concern: dict, category: str, owner: int, actions: list, updates: list
    ) -> ActionStatus:
        created = concern["created_at"]
        band = risk_band(concern["risk_score"]).value
        due = created.astimezone(self.zone).date() + timedelta(days=DUE_DAYS[band])
        age = (self.now - created).days
        status = self._action_status(age, due)
        action_id = len(actions) + 1
        row = dict(
            id=action_id,
            concern_id=concern["id"],
            description=self.rng.choice(ACTIONS[category]),
            owner_id=owner,
            due_date=due,
            priority=band,
            status=status.value,
            risk_rank=action_risk_rank(band, status),
            created_by_id=concern["created_by_id"],
            created_at=created,
            updated_at=created,
            version=1,
            closure_note=None,
            completed_at=None,
            completed_by_id=None,
            verified_at=None,
            verified_by_id=None,
        )
        actions.append(row)
        updates.append(
            dict(
                action_id=action_id,
                author_id=concern["created_by_id"],
                kind=ActionUpdateKind.CREATED.value,
                text=None,
                created_at=created,
            )
        )
        if status in (ActionStatus.COMPLETED, ActionStatus.VERIFIED):
            done = min(created + timedelta(days=self.rng.randint(2, DUE_DAYS[band] + 10)), self.now)
            row.update(
                completed_at=done,
                completed_by_id=owner,
                updated_at=done,
                closure_note="Done and checked with the nurse in charge.",
            )
            updates.append(
                dict(
                    action_id=action_id,
                    author_id=owner,
                    kind=ActionUpdateKind.STATUS_CHANGE.value,
                    from_status=ActionStatus.IN_PROGRESS.value,
                    to_status=ActionStatus.COMPLETED.value,
                    text=row["closure_note"],
                    created_at=done,
                )
            )
            if status == ActionStatus.VERIFIED:
                verified = min(done + timedelta(days=self.rng.randint(1, 7)), self.now)
                row.update(verified_at=verified, verified_by_id=concern["created_by_id"], updated_at=verified)
                updates.append(
                    dict(
                        action_id=action_id,
                        author_id=concern["created_by_id"],
                        kind=ActionUpdateKind.STATUS_CHANGE.value,
                        from_status=ActionStatus.COMPLETED.value,
                        to_status=ActionStatus.VERIFIED.value,
                        text="Seen on the ward.",
                        created_at=verified,
                    )
                )
        elif status in (ActionStatus.IN_PROGRESS, ActionStatus.REOPENED):
            updates.append(
                dict(
                    action_id=action_id,
                    author_id=owner,
                    kind=ActionUpdateKind.COMMENT.value,
                    text="Started: discussed at the ward team meeting.",
                    created_at=created + timedelta(days=1),
                )
            )
        return status

    def _action_status(self, age_days: int, due: date) -> ActionStatus:
        roll = self.rng.random()
        if age_days > 120:
            return (
                ActionStatus.VERIFIED
                if roll < 0.9
                else (ActionStatus.COMPLETED if roll < 0.95 else ActionStatus.OPEN)
            )
        if age_days > 30:
            choices = [
                (0.45, ActionStatus.VERIFIED),
                (0.65, ActionStatus.COMPLETED),
                (0.8, ActionStatus.IN_PROGRESS),
                (0.9, ActionStatus.REOPENED),
            ]
        else:
            choices = [
                (0.1, ActionStatus.VERIFIED),
                (0.3, ActionStatus.COMPLETED),
                (0.6, ActionStatus.IN_PROGRESS),
                (0.65, ActionStatus.REOPENED),
            ]
        return next((status for limit, status in choices if roll < limit), ActionStatus.OPEN)

    def _reset_sequences(self) -> None:
        """PostgreSQL: move id sequences past the ids assigned here."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for model in (Site, Ward, User, Walkabout, WalkaboutReschedule, Concern, Action, ActionUpdate):
            table = model.__tablename__
            top = self.session.exec(select(func.max(model.id))).one() or 0
            if top:
                self.session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), :top)"), {"top": top}
                )
