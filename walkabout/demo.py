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

from . import demo_voice, rules
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
    StatusChange,
    User,
    UserRole,
    Walkabout,
    WalkaboutAttendee,
    WalkaboutReschedule,
    WalkaboutSeries,
    WalkaboutStatus,
    Ward,
    WardManager,
    action_risk_rank,
    risk_band,
)
from .services.accounts import hash_password
from .services.feedback import AT_THE_WALKABOUT
from .services.series import Recurrence, occurrences

DEMO_LOGINS = [
    ("executive@example.org", "Executive"),
    ("manager@example.org", "Ward manager"),
    ("secretary@example.org", "Board secretary"),
    ("admin@example.org", "Administrator"),
]

SCALES = {
    # sites, wards, extra executives, days of history, walkabouts a week, concerns per walkabout
    "small": dict(
        sites=2, wards=12, executives=3, history_days=180, per_week=2.0, concerns=(3, 7), packs=True
    ),
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
# What gets done about each concern, written for that concern (two choices each).
ACTIONS_FOR = {
    "Night shifts often run one registered nurse short; agency cover arrives late or not at all.": [
        "Review the night rota with the matron and agree a minimum of two registered nurses.",
        "Book block agency cover for nights through the staffing office for the next eight weeks.",
    ],
    "No ward clerk at weekends, so nurses answer the phone and chase notes instead of caring.": [
        "Recruit a weekend ward clerk through the bank office.",
        "Divert weekend calls to the site admin hub until a clerk is in post.",
    ],
    "Only one nurse on the ward trained to give IV antibiotics on most late shifts.": [
        "Book three more nurses onto IV competency training this quarter.",
        "Roster at least one IV-trained nurse on every late shift.",
    ],
    "Only one working bladder scanner for the whole floor; staff borrow from the next ward.": [
        "Order a second bladder scanner through the medical equipment library.",
        "Agree a shared-scanner booking sheet with the next ward until the new one arrives.",
    ],
    "Infusion pumps are often missing giving sets, delaying antibiotics by up to an hour.": [
        "Add giving sets to the ward's daily stock top-up list.",
        "Keep a labelled box of giving sets beside the pump station.",
    ],
    "The hoist battery fails mid-shift; there is no spare charger.": [
        "Order a spare hoist battery and charger from EBME.",
        "Add the hoist battery to the night shift charging check.",
    ],
    "Two of the four observation machines give unreliable blood pressure readings.": [
        "Send both observation machines to EBME for calibration and borrow two meanwhile.",
        "Label the faulty machines out of use and report them to EBME today.",
    ],
    "Sluice room door lock is broken; cleaning chemicals can be reached by confused patients.": [
        "Raise an urgent estates job to replace the sluice room lock.",
        "Move the cleaning chemicals to the locked cupboard until the lock is fixed.",
    ],
    "The bay lights flicker at night and staff cannot see drug labels clearly.": [
        "Raise an estates job to replace the bay light fittings.",
        "Provide task lights on the drug trolleys until the lights are repaired.",
    ],
    "Corridor used to store beds and equipment blocks the fire exit route.": [
        "Clear the corridor and agree a storage area with facilities.",
        "Ask the fire safety adviser to walk the route and confirm it stays clear.",
    ],
    "Patients arrive from ED without a medication history, so first doses are delayed.": [
        "Agree with ED that a medicines reconciliation is done before transfer.",
        "Ask pharmacy to prioritise medication histories for admissions from ED.",
    ],
    "Handover sheet is different on days and nights, and allergies get missed.": [
        "Agree one handover template across days and nights, with allergies at the top.",
        "Audit ten handovers for recorded allergies after the new template starts.",
    ],
    "Results from the lab are phoned to the ward but nobody knows who took the call.": [
        "Set up a results log by the nurses' station for every phoned result.",
        "Ask the lab to send critical results to the ward's electronic inbox as well.",
    ],
    "Controlled drug keys are held by one nurse, delaying pain relief during busy periods.": [
        "Review controlled drug key holding with pharmacy and add a second key holder.",
        "Move the controlled drug check to quieter times in the shift.",
    ],
    "Look-alike insulin pens are stored side by side in the fridge.": [
        "Separate the insulin pens into labelled fridge trays.",
        "Add shelf warning labels for the look-alike pens with pharmacy.",
    ],
    "Pharmacy top-up comes after the lunchtime round, so doses are missed or borrowed.": [
        "Move the ward's pharmacy top-up to before the lunchtime round.",
        "Agree a small emergency stock list with pharmacy for lunchtime doses.",
    ],
    "Hand gel dispensers at the bay entrances are empty more often than not.": [
        "Add hand gel refills to the housekeeper's daily checklist.",
        "Fit larger hand gel dispensers at the bay entrances.",
    ],
    "Side rooms are not cleaned promptly after discharge of infectious patients.": [
        "Agree a two-hour target for side room cleans with the domestic team.",
        "Audit side room cleaning times for four weeks and share the results.",
    ],
    "Commode cleaning is not recorded, so nobody knows which are clean.": [
        "Introduce 'I am clean' tags for commodes.",
        "Add commode cleaning to the healthcare assistants' shift checklist.",
    ],
    "Patients are boarded in the corridor overnight when the ward is full.": [
        "Escalate corridor care to the site team and record each occurrence.",
        "Agree a boarding standard with the site team: no patient in the corridor after 22:00.",
    ],
    "Discharges wait hours for take-home medication, blocking beds for admissions.": [
        "Order take-home medication the day before planned discharge.",
        "Use the discharge lounge for patients waiting only for medication.",
    ],
    "Outliers from other specialties are not reviewed by their own team every day.": [
        "Add outlying patients to each specialty's daily board round list.",
        "Ask the site team to send the outlier list to each specialty by 09:00.",
    ],
    "New starters have not had sepsis screening training before working nights.": [
        "Book all new starters onto sepsis training within their first month.",
        "Pair new starters with a sepsis-trained buddy until they are trained.",
    ],
    "Staff are unsure how to use the new electronic observations tablets.": [
        "Arrange a floor-walker for the electronic observations rollout.",
        "Run two short tablet training sessions at handover.",
    ],
    "No one on the late shift has completed the deteriorating patient course.": [
        "Book two late-shift nurses onto the deteriorating patient course.",
        "Ask the outreach team to cover a teaching session on the late shift.",
    ],
    "Relatives are not sure whom to ask for updates and call the ward repeatedly.": [
        "Set up a relatives' information board with named contacts.",
        "Offer relatives a set time each day for an update from the nurse in charge.",
    ],
    "The ward's incident reports rarely get feedback, so staff stop reporting.": [
        "Share incident feedback at the weekly team meeting.",
        "Ask the governance team to send each reporter a reply within two weeks.",
    ],
}
SUMMARY_NOTES = [
    "Open, constructive conversation with the team.",
    "Staff were candid about staffing and glad to be asked.",
    "A busy ward; the team made time to talk and showed us their safety board.",
    "The nurse in charge walked us round; the healthcare assistants raised most points.",
    "Good energy on the ward; staff want to hear back about the equipment points.",
    "Quiet visit during the afternoon lull; the team were reflective about last month.",
]
SERIES_COUNT = 3  # recurring series of the demo trust (monthly, one ward and lead each)
SERIES_FOCUS = ["Falls prevention", "Medicines safety", "Night staffing"]
RESCHEDULE_REASONS = [
    "Clashed with an incident review meeting.",
    "The executive was called to a system-wide escalation call.",
    "The ward asked to move it: two staff off sick that morning.",
    "Moved to fit the ward's teaching afternoon.",
]
CANCEL_REASONS = [
    "Ward on outbreak closure.",
    "Cancelled for a critical incident; to be rebooked.",
    "The ward was moving to a new building that week.",
]
FEEDBACK_METHODS = ["Safety huddle", "Team meeting", "Ward noticeboard", "Email to the ward team"]
FEEDBACK_OPENINGS = [
    "You said: {concern} We did: {action}",
    "At the huddle we told the team what came of the visit. {concern} Since then: {action}",
    "You told us: {concern} What happened next: {action}",
    "Update for the team. You raised: {concern} The response: {action}",
]
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
        self.used_names: set[str] = set()
        self.next_name = 0
        self.history: list[dict] = []
        self.deliveries: list[dict] = []

    def run(self) -> dict[str, int]:
        sites = self._sites()
        wards = self._wards(sites)
        executives, managers = self._users(wards)
        self._walkabouts(wards, executives, managers)
        self._reset_sequences()
        if self.scale.get("packs"):
            self._pack_archive()
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

    def _person(self) -> str:
        """A name no one else in the trust has, whatever their role (the fixed demo logins included)."""
        combinations = len(FIRST_NAMES) * len(LAST_NAMES)
        while self.next_name < combinations:
            index = self.next_name
            self.next_name += 1
            first = FIRST_NAMES[index % len(FIRST_NAMES)]
            last = LAST_NAMES[(index // len(FIRST_NAMES) + index * 7 + 3) % len(LAST_NAMES)]
            name = f"{first} {last}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        raise RuntimeError("The demo ran out of unique names: add first or last names.")

    def _moved(self, kind: str, ident: int, before, after, at: datetime) -> None:
        self.history.append(
            dict(
                entity_type=kind,
                entity_id=ident,
                from_status=before,
                to_status=after,
                changed_at=at,
                source="live",
            )
        )

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

        self.used_names |= {"Sarah Okafor", "Tom Bennett", "Priya Patel", "David Hughes", "Kwame Mensah"}
        executives = [add("executive@example.org", "Sarah Okafor", "Chief Nurse", Role.EXECUTIVE)]
        # Ward managers' titles name their wards, as the pickers show them ("Ward Manager, Larch Ward").
        manager_id = add(
            "manager@example.org",
            "Tom Bennett",
            f"Ward Manager, {wards[0]['name']} and {wards[1]['name']}",
            Role.WARD_MANAGER,
        )
        add("secretary@example.org", "Priya Patel", "Board Secretary", Role.BOARD_SECRETARY)
        add("admin@example.org", "David Hughes", "Systems Administrator", Role.ADMIN)
        for i in range(self.scale["executives"]):
            name = self._person()
            executives.append(
                add(f"exec{i + 1}@example.org", name, EXEC_TITLES[(i + 1) % len(EXEC_TITLES)], Role.EXECUTIVE)
            )
        # The demo ward manager runs the first two wards; every other ward has its own manager.
        ward_manager = {wards[0]["id"]: manager_id, wards[1]["id"]: manager_id}
        for ward in wards[2:]:
            ward_manager[ward["id"]] = add(
                f"ward{ward['id']}.manager@example.org",
                self._person(),
                f"Ward Manager, {ward['name']}",
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

    def _series(self, wards: list[dict], executives: list[int]) -> tuple[list[dict], list[tuple]]:
        """A few recurring series (a ward visited on the same weekday each month by the same
        lead), from the start of the history to eight weeks ahead; returns their rows and slots."""
        rows, slots = [], []
        first = self.today - timedelta(days=self.scale["history_days"])
        for i in range(min(SERIES_COUNT, len(wards) - 2)):
            ward, lead = wards[2 + i], executives[(i + 1) % len(executives)]
            recurrence = Recurrence(
                pattern="monthly_weekday",
                first_day=first + timedelta(days=i),
                at=time(9 + 2 * i, 30),
                weekday=(1 + i) % 5,
                ordinal=1 + i % 4,
                until=self.today + timedelta(days=56),
            )
            starts = occurrences(recurrence)
            series_id = len(rows) + 1
            rows.append(
                dict(
                    id=series_id,
                    ward_id=ward["id"],
                    lead_id=lead,
                    rule=str(recurrence.rule()).splitlines()[-1].removeprefix("RRULE:"),
                    first_start=starts[0],
                    duration_minutes=60,
                    focus=SERIES_FOCUS[i % len(SERIES_FOCUS)],
                    version=1,
                    created_by_id=lead,
                    created_at=starts[0] - timedelta(days=30),
                )
            )
            slots.extend(
                (start.astimezone(self.zone).date(), ward, lead, start, series_id) for start in starts
            )
        return rows, slots

    def _walkabouts(self, wards: list[dict], executives: list[int], managers: dict[int, int]) -> None:
        walkabouts, attendees, reschedules = [], [], []
        concerns, actions, updates = [], [], []
        feedback_updates = []
        days = self._walkabout_days()
        demo = days.index(self.today)  # today's first: the demo executive's, on the demo manager's ward
        slots = []
        for number, day in enumerate(days):
            ward = wards[number % len(wards)] if number != demo else wards[0]
            lead = executives[number % len(executives)] if number != demo else executives[0]
            # Now and then early or late: out-of-hours visits meet the night and weekend staff.
            hour = self.rng.choice([7, 10, 10, 14, 14, 14, 15, 15, 19, 20]) if number != demo else 14
            slots.append((day, ward, lead, self._local(day, hour, self.rng.choice([0, 30])), None))
        series_rows, series_slots = self._series(wards, executives)
        self._bulk(WalkaboutSeries, series_rows, "series")
        # Wards with actions from a visit already made: their next visit's brief has open actions.
        with_actions: set[int] = set()
        ordered = sorted(slots + series_slots, key=lambda slot: slot[3])
        for number, (day, ward, lead, start, series_id) in enumerate(ordered):
            walkabout_id = len(walkabouts) + 1
            row = dict(
                id=walkabout_id,
                ward_id=ward["id"],
                lead_id=lead,
                series_id=series_id,
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
                # Most are moved by a few days; some slip by weeks (held late, not within 14 days).
                moved_from = start - timedelta(days=self.rng.choice([2, 7, 14, 21, 28]))
                reschedules.append(
                    dict(
                        walkabout_id=walkabout_id,
                        from_start=moved_from,
                        to_start=start,
                        reason=self.rng.choice(RESCHEDULE_REASONS),
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
                    cancel_reason=self.rng.choice(CANCEL_REASONS),
                    cancelled_by_id=lead,
                    calendar_sequence=row["calendar_sequence"] + 1,
                )
                continue
            feedback = self.rng.random() < 0.65
            row.update(
                status=WalkaboutStatus.COMPLETED.value,
                started_at=start,
                completed_at=start + timedelta(minutes=55),
                summary_notes=self.rng.choice(SUMMARY_NOTES),
                staff_participation={
                    "Staff nurse": self.rng.randint(1, 4),
                    "Healthcare assistant": self.rng.randint(0, 3),
                },
            )
            if ward["id"] in with_actions and self.rng.random() < 0.7:
                row["open_actions_reviewed_at"] = start + timedelta(minutes=5)  # the brief's tick
            first, first_action = len(concerns), len(actions)
            self._findings(row, managers[ward["id"]], concerns, actions, updates)
            if len(actions) > first_action:
                with_actions.add(ward["id"])
            self._feedback(row, concerns[first:], actions, feedback_updates, feedback)
        voice = demo_voice.staff_voice(
            self, wards, executives, walkabouts, attendees, concerns, feedback_updates
        )
        self._bulk(Walkabout, walkabouts, "walkabouts")
        self._bulk(WalkaboutAttendee, attendees)
        self._bulk(WalkaboutReschedule, reschedules)
        self._bulk(Concern, concerns, "concerns")
        self._bulk(Action, actions, "actions")
        self._bulk(ActionUpdate, updates)
        self._bulk(StatusChange, self.history)
        self._bulk(FeedbackDelivery, self.deliveries, "feedback deliveries")
        self._bulk(FeedbackUpdate, feedback_updates)
        for model, rows in voice.items():
            self._bulk(model, rows, model.__tablename__.replace("_", " ") + "s")

    def _feedback(self, walkabout: dict, found: list, actions: list, said: list, given: bool) -> None:
        """Each concern's feedback due date; when the visit was fed back, a "you said, we did"
        delivery in words taken from what it found, and each concern's update for the ward page."""
        start = walkabout["started_at"]
        due = start.astimezone(self.zone).date() + timedelta(days=rules.FEEDBACK_DAYS)
        raised = [c for c in found if c["kind"] == ConcernKind.CONCERN.value]
        for concern in raised:
            concern["feedback_due_on"] = due
        if not given or not raised:
            return
        on_the_day = self.rng.random() < 0.4
        delivered = min(
            start
            + (
                timedelta(minutes=50)
                if on_the_day
                else timedelta(days=self.rng.choice([1, 2, 3, 5, 8, 13, 20]))
            ),
            self.now,
        )

        def done_for(concern: dict) -> str:
            action = next((a for a in reversed(actions) if a["concern_id"] == concern["id"]), None)
            return (
                action["description"]
                if action
                else concern["immediate_action"] or "the ward sorted it on the day."
            )

        chosen = self.rng.choice(raised)
        self.deliveries.append(
            dict(
                ward_id=walkabout["ward_id"],
                walkabout_id=walkabout["id"],
                delivered_at=delivered,
                method=AT_THE_WALKABOUT if on_the_day else self.rng.choice(FEEDBACK_METHODS),
                notes=self.rng.choice(FEEDBACK_OPENINGS).format(
                    concern=chosen["text"], action=done_for(chosen)
                ),
                delivered_by_id=walkabout["lead_id"],
                created_at=delivered,
            )
        )
        for concern in raised:
            if concern["status"] == ConcernStatus.OPEN.value:
                kind, text = (
                    FeedbackKind.INTERIM,
                    f"Under way: {done_for(concern)} We will tell you when it is done.",
                )
            elif concern["status"] == ConcernStatus.RESOLVED.value:
                kind, text = FeedbackKind.FINAL, f"Done and checked: {done_for(concern)}"
            else:
                kind, text = FeedbackKind.FINAL, concern["no_action_reason"] or "No action was needed."
            said.append(
                dict(
                    concern_id=concern["id"],
                    kind=kind.value,
                    text=text,
                    author_id=walkabout["lead_id"],
                    created_at=min(delivered + timedelta(days=1), self.now),
                )
            )
            concern["first_feedback_at"] = said[-1]["created_at"]  # bulk inserts skip the ORM's stamp

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
                self._moved("concern", concern_id, "open", "no_action_needed", logged_at)
                continue
            if score <= 3 and self.rng.random() < 0.3:
                row.update(
                    ward_can_fix=True,
                    immediate_action="Sorted by the ward sister during the visit.",
                    status=ConcernStatus.NO_ACTION_NEEDED.value,
                    no_action_reason="Fixed on the spot.",
                )
                self._moved("concern", concern_id, "open", "no_action_needed", logged_at)
                continue
            statuses = [
                self._add_action(row, category, owner, actions, updates)
                for _ in range(self.rng.choice([1, 1, 1, 1, 1, 2, 2, 2, 2, 3]))
            ]
            if all(status == ActionStatus.VERIFIED for status in statuses):
                row["status"] = ConcernStatus.RESOLVED.value
                mine = [a for a in actions if a["concern_id"] == concern_id]
                resolved = max(a["verified_at"] for a in mine)
                row["updated_at"] = resolved
                self._moved("concern", concern_id, "open", "resolved", resolved)

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
            description=self.rng.choice(ACTIONS_FOR[concern["text"]]),
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
                to_status=ActionStatus.OPEN.value,
                text=None,
                created_at=created,
            )
        )
        self._moved("action", action_id, None, "open", created)
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
            self._moved("action", action_id, "open", "completed", done)
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
                self._moved("action", action_id, "completed", "verified", verified)
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
            started = min(created + timedelta(days=1), self.now)
            if status == ActionStatus.IN_PROGRESS:
                self._moved("action", action_id, "open", "in_progress", started)
            else:  # completed, then sent back by the executive
                self._moved("action", action_id, "open", "completed", started)
                self._moved(
                    "action", action_id, "completed", "reopened", min(started + timedelta(days=2), self.now)
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

    def _pack_archive(self) -> None:
        """Issued board packs: the month before last, and last month twice (a corrected version)."""
        from .models import BoardPack, BoardPackStatus
        from .periods import Period, add_months
        from .reports import boardpack

        secretary = self.session.exec(select(User).where(User.email == "secretary@example.org")).one()
        last = add_months(self.today, -1)
        for month, version in ((add_months(last, -1), 1), (last, 1), (last, 2)):
            period = Period(month, add_months(month, 1), self.zone)
            built = boardpack.build(self.session, period, version, secretary.name)
            self.session.add(
                BoardPack(
                    month=period.month_key,
                    version=version,
                    status=BoardPackStatus.READY,
                    pdf=built.pdf,
                    figures=built.figures,
                    requested_by_id=secretary.id,
                    requested_at=self.now,
                    completed_at=self.now,
                )
            )
            self.counts["board packs"] = self.counts.get("board packs", 0) + 1

    def _reset_sequences(self) -> None:
        """PostgreSQL: move id sequences past the ids assigned here."""
        if self.session.get_bind().dialect.name != "postgresql":
            return
        for model in (
            Site,
            Ward,
            User,
            WalkaboutSeries,
            Walkabout,
            WalkaboutReschedule,
            Concern,
            Action,
            ActionUpdate,
        ):
            table = model.__tablename__
            top = self.session.exec(select(func.max(model.id))).one() or 0
            if top:
                self.session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), :top)"), {"top": top}
                )
