"""Hostile input for the property-based form tests: the values, a world to post
against, and a fingerprint of the database that shows whether a request stored anything."""

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from hypothesis import strategies as st
from sqlmodel import SQLModel

from walkabout.db import get_db, session_scope
from walkabout.models import (
    BoardPack,
    BoardPackStatus,
    FeedbackKind,
    FeedbackUpdate,
    Photo,
    Role,
    WalkaboutSeries,
    WalkaboutStatus,
    Ward,
)
from walkabout.services.photos import process_upload

from .photo_samples import png

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "{{ 7*7 }}{% print(1) %}",
    "</textarea><script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "&lt;script&gt;&amp;",
]
HUGE = ["A" * 100_000, "é🙂" * 25_000, "<b>" * 33_334]
NUMBERS = [
    "0",
    "-1",
    "-2147483649",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "inf",
    "-0",
    "1.5",
    "0x10",
    " 7 ",
    "²",
    "٣",
    "\uff11\uff12",  # fullwidth
    "\U0001d7d7",  # mathematical bold nine
    "1\u200b",
]
DATES = [
    "0000-00-00",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "1900-01-01",
    "31/12/2026",
    "2026-13-01",
    "9999-12-31T23:59",
    "-2026-01-01",
]
TIMES = ["25:61", "23:59", "00:00", "24:00", "-1:00", "12:60"]
CONTROL = ["\x00", "abc\x00def", "\x1b[31mred", "\r\n\r\nX-Injected: 1", "\u202eevil", "\ufeff", "\x7f\x08"]

# unicode without lone surrogates (which no browser can send as UTF-8)
UNICODE = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
CONTROL_TEXT = st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=10)


def hostile_scalar(world_ids: list[str]):
    """One hostile form value (a string, as a browser sends)."""
    return st.one_of(
        st.just(""),
        st.sampled_from(HUGE),
        UNICODE,
        CONTROL_TEXT,
        st.sampled_from(CONTROL),
        st.sampled_from(NUMBERS),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(DATES + TIMES),
        st.sampled_from(XSS_PAYLOADS),
        st.sampled_from(world_ids),  # ids of other people's records
    )


@st.composite
def form_data(draw, fields: list[str], plausible: dict, world_ids: list[str]):
    """A whole form: up to three fields hostile (a value, several, or left out), the rest plausible,
    so the hostile ones reach the services behind the validation of the others."""
    hostile = hostile_scalar(world_ids)
    chosen = draw(st.sets(st.sampled_from(fields), max_size=3)) if fields else set()
    data = {}
    for name in fields:
        if name in chosen:
            value = draw(st.one_of(hostile, hostile, st.lists(hostile, max_size=3), st.none()))
        else:
            value = plausible.get(name.rsplit("-", 1)[-1], "Plain words")  # "due-reason" -> "reason"
        if value is not None:
            data[name] = value
    return data


@dataclass
class World:
    """Users, places and records to post against; `ids` names each record's id."""

    users: dict
    today: date  # the trust's date
    ids: dict = field(default_factory=dict)

    @property
    def id_strings(self) -> list[str]:
        return sorted({str(value) for value in self.ids.values()} | {str(u.id) for u in self.users.values()})


def build_people(factory) -> dict:
    """Two executives, two ward managers, a board secretary, an admin, and P, who only changes
    their own password (wrong current passwords throttle and sign out that account)."""
    E, M, S, A = Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY, Role.ADMIN
    return {
        "E": factory.user(E),
        "E2": factory.user(E),
        "M": factory.user(M),
        "M2": factory.user(M),
        "S": factory.user(S),
        "A": factory.user(A),
        "P": factory.user(M),
    }


def build_world(app, factory, users: dict | None = None) -> World:
    """Two wards on two sites, each with walkabouts, a concern and an action; a series, a photo,
    a board pack; `users`."""
    users = users or build_people(factory)
    ward = factory.ward(managers=(users["M"],))
    other_ward = factory.ward(managers=(users["M2"],))
    in_progress = factory.walkabout(ward, users["E"], status=WalkaboutStatus.IN_PROGRESS)
    done = factory.walkabout(ward, users["E"], status=WalkaboutStatus.COMPLETED)
    planned = factory.walkabout(ward, users["E"])
    other_walkabout = factory.walkabout(other_ward, users["E2"], status=WalkaboutStatus.IN_PROGRESS)
    concern = factory.concern(in_progress)
    other_concern = factory.concern(other_walkabout)
    done_concern = factory.concern(done, text="Raised on a completed walkabout")  # its follow-up
    action = factory.action(concern, users["M"])
    other_action = factory.action(other_concern, users["M2"])
    with session_scope(app) as session:
        series = WalkaboutSeries(
            ward_id=ward.id,
            lead_id=users["E"].id,
            rule="FREQ=MONTHLY;COUNT=2",
            first_start=planned.scheduled_start,
        )
        photo = Photo(concern_id=concern.id, **process_upload(png()).fields)
        packs = session.exec(sa.select(sa.func.count()).select_from(BoardPack)).scalar()
        pack = BoardPack(month="2026-10", version=packs + 1, status=BoardPackStatus.READY, pdf=b"%PDF-1.7")
        # The ward's public page, with final feedback to answer "did this fix it?" on (issue 18).
        public_token = f"hostile{ward.id:025d}"
        session.get(Ward, ward.id).public_token = public_token
        final = FeedbackUpdate(concern_id=done_concern.id, kind=FeedbackKind.FINAL, text="Fixed it")
        session.add_all([series, photo, pack, final])
        session.flush()
        series_id, photo_id, pack_id = series.id, photo.id, pack.id
    ids = {
        "site": ward.site_id,
        "other_site": other_ward.site_id,
        "ward": ward.id,
        "other_ward": other_ward.id,
        "in_progress": in_progress.id,
        "done": done.id,
        "planned": planned.id,
        "other_walkabout": other_walkabout.id,
        "concern": concern.id,
        "other_concern": other_concern.id,
        "done_concern": done_concern.id,
        "action": action.id,
        "other_action": other_action.id,
        "series": series_id,
        "photo": photo_id,
        "pack": pack_id,
        "category": factory.category_id(),
        "public_token": public_token,
    }
    return World(users=users, ids=ids, today=factory.today())


def plausible_values(world: World) -> dict:
    """A value that passes validation for each field name, so hostile values reach the services."""
    ids, users = world.ids, world.users
    soon = (world.today + timedelta(days=10)).isoformat()
    values = {
        "ward_id": str(ids["ward"]),
        "site_id": str(ids["site"]),
        "lead_id": str(users["E"].id),
        "owner_id": str(users["M"].id),
        "attendee_ids": [str(users["E2"].id)],
        "executive_ids": [str(users["E"].id)],
        "manager_ids": [str(users["M"].id)],
        "category_id": str(ids["category"]),
        "walkabout_id": str(ids["done"]),
        "day": soon,
        "first_day": soon,
        "due_date": soon,
        "delivered_on": world.today.isoformat(),
        "answer": "not_yet",
        "until": (world.today + timedelta(days=100)).isoformat(),
        "at": "10:00",
        "duration_minutes": "60",
        "interval": "1",
        "count": "2",
        "month_day": "15",
        "visits_per_ward": "1",
        "weekday": "1",
        "ordinal": "1",
        "weekdays": ["0"],
        "likelihood": "3",
        "consequence": "3",
        "kind": "concern",
        "ward_can_fix": "y",
        "confirm_clashes": "y",
        "active": "y",
        "version": "1",
        "feedback_given": "yes",
        "other_count": "1",
        "email": "new.person@example.org",
        "password": "a long enough passphrase 42",
        "roles": ["executive"],
        "remember": "y",
        "method": "Staff huddle",
        "kinds": ["new_action"],
        "then": "another",
        "accept": "0",
        "repeat": "none",
        "current_password": "wrong password",
        "new_password": "another long passphrase",
        "confirm_password": "another long passphrase",
        "photo": None,
        "idempotency_key": None,
        "next": None,
        "reason": "Clashed with a board meeting",
    }
    return values


def shared_app(directory):
    """An app on its own database (SQLite file, or a PostgreSQL database), for a module's tests.

    Board packs are built by the scheduler, not in a thread, so no work runs after a response."""
    from .conftest import make_app, new_database

    with new_database(directory / "hostile.db") as url:
        app = make_app(url, REPORTS_RUNNER="scheduler")
        try:
            yield app
        finally:
            get_db(app).engine.dispose()


def table_fingerprint(app, exempt: frozenset[str] = frozenset()):
    """Row counts of every table, and the sum of each `version` column, in one query."""
    columns = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name in exempt:
            continue
        count = sa.select(sa.func.count()).select_from(table).scalar_subquery()
        columns.append(count.label(f"n_{table.name}"))
        if "version" in table.c:
            columns.append(
                sa.select(sa.func.coalesce(sa.func.sum(table.c.version), 0))
                .scalar_subquery()
                .label(f"v_{table.name}")
            )
    query = sa.select(*columns)
    with get_db(app).engine.connect() as connection:
        row = connection.execute(query).one()
    return dict(row._mapping)
