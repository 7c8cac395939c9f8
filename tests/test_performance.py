"""Issue 21: pages whose cost does not grow with the trust. The stored risk rank, the figures
read over index ranges, fixed query counts, a signed-in request that leaves the password hash
unread, the planner's statistics, and compressed pages that keep BREACH in mind."""

import gzip
import random
import re
import statistics
from datetime import timedelta

import brotli
import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from walkabout import migrate
from walkabout.db import get_db, session_scope
from walkabout.db_types import utcnow
from walkabout.models import Action, ActionStatus, Role, WalkaboutStatus, action_risk_rank
from walkabout.periods import Period
from walkabout.reports import figures
from walkabout.timeutil import trust_zone

from .conftest import login, make_app
from .test_actions_lists import listed


def _ranks(app) -> dict[int, tuple[str, str, int]]:
    with session_scope(app, write=False) as session:
        rows = session.exec(select(Action.id, Action.priority, Action.status, Action.risk_rank)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_risk_rank_is_kept_in_step_with_priority_and_status(app, factory):
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive)
    extreme = factory.action(factory.concern(walkabout, likelihood=5, consequence=5), executive)
    low = factory.action(factory.concern(walkabout, likelihood=1, consequence=1), executive)
    assert _ranks(app)[extreme.id][2] == 0 and _ranks(app)[low.id][2] == 3
    with session_scope(app) as session:
        row = session.get(Action, extreme.id)
        row.status = ActionStatus.COMPLETED
        session.get(Action, low.id).priority = "high"
    ranks = _ranks(app)
    assert ranks[extreme.id][2] == 4  # closed: after every open action, whatever its band
    assert ranks[low.id][2] == 1
    for _id, (priority, status, rank) in ranks.items():
        assert rank == action_risk_rank(priority, status)


def test_highest_risk_first_puts_open_extremes_first_and_closed_last(client, factory):
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive)
    today = factory.today()
    for description, (likelihood, consequence), status, days in [
        ("low, late", (1, 1), ActionStatus.OPEN, -9),
        ("extreme, closed", (5, 5), ActionStatus.COMPLETED, -30),
        ("high, soon", (3, 4), ActionStatus.IN_PROGRESS, 2),
        ("extreme, later", (5, 5), ActionStatus.REOPENED, 9),
        ("extreme, late", (5, 5), ActionStatus.OPEN, -1),
    ]:
        concern = factory.concern(walkabout, likelihood=likelihood, consequence=consequence)
        factory.action(
            concern, executive, due=today + timedelta(days=days), status=status, description=description
        )
    login(client, executive.email)
    assert listed(client, "?sort=priority&status=all") == [
        "extreme, late",
        "extreme, later",
        "high, soon",
        "low, late",
        "extreme, closed",
    ]
    assert listed(client, "?overdue=1&sort=priority") == ["extreme, late", "low, late"]


def test_migration_backfills_the_risk_rank_and_analyses(database_url, tmp_path):
    app = make_app(database_url, create_tables=False)
    migrate.upgrade(app)
    from .factories import Factory

    factory = Factory(app)
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive)
    for status in ActionStatus:
        for score in ((1, 2), (2, 3), (3, 4), (5, 5)):
            factory.action(
                factory.concern(walkabout, likelihood=score[0], consequence=score[1]),
                executive,
                status=status,
            )
    before = _ranks(app)
    migrate.downgrade(app, "0005")  # the column goes ...
    migrate.upgrade(app)  # ... and is filled again from priority and status
    assert _ranks(app) == before and len({rank for *_, rank in before.values()}) == 8
    engine = get_db(app).engine
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            analysed = connection.exec_driver_sql("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'action'")
        else:
            analysed = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_user_tables"
                " WHERE relname = 'action' AND last_analyze IS NOT NULL"
            )
        assert analysed.scalar() >= 1
    engine.dispose()


def _old_action_figures(session, period: Period) -> dict:
    """The dashboard's action figures as one aggregate over every action (before issue 21)."""
    start, end = period.start_utc, period.end_utc

    def within(column):
        return sa.and_(column.is_not(None), column >= start, column < end)

    row = session.exec(
        select(
            figures.count_if(within(col(Action.created_at))),
            figures.count_if(within(col(Action.completed_at))),
            figures.count_if(within(col(Action.verified_at))),
            figures.count_if(figures.overdue_condition(figures.cutoff(period), figures.overdue_day(period))),
        ).where(col(Action.deleted_at).is_(None), col(Action.created_at) < end)
    ).one()
    closed_at = sa.func.coalesce(Action.verified_at, Action.completed_at)
    closings = session.exec(
        select(Action.created_at, Action.verified_at, Action.completed_at).where(
            col(Action.deleted_at).is_(None),
            col(Action.status).in_(figures.CLOSED),
            closed_at >= start,
            closed_at < end,
        )
    ).all()
    days = [((verified or done) - created).total_seconds() / 86400 for created, verified, done in closings]
    names = ("opened", "completed", "verified", "overdue", "closed", "median_days_to_close")
    median = round(statistics.median(days), 1) if days else None
    return dict(zip(names, [*map(int, row), len(days), median], strict=True))


def test_dashboard_action_figures_read_index_ranges_and_mean_the_same(app, factory):
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive)
    concern = factory.concern(walkabout)
    now, today = utcnow(), factory.today()
    rng = random.Random(21)
    for _ in range(60):
        created = now - timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
        status = rng.choice(list(ActionStatus))
        fields = {"created_at": created}
        if status in figures.CLOSED:
            fields["completed_at"] = min(created + timedelta(days=rng.randint(0, 60)), now)
        if status == ActionStatus.VERIFIED:
            fields["verified_at"] = min(fields["completed_at"] + timedelta(days=rng.randint(0, 9)), now)
        if rng.random() < 0.1:
            fields["deleted_at"] = now
        due = created.date() + timedelta(days=rng.randint(1, 40))
        factory.action(concern, executive, due=due, status=status, **fields)
    with app.app_context(), session_scope(app, write=False) as session:
        zone = trust_zone()
        periods = [
            Period(today - timedelta(days=89), today + timedelta(days=1), zone),  # the dashboard's default
            Period(today - timedelta(days=150), today - timedelta(days=60), zone),  # over
            Period(today - timedelta(days=30), today + timedelta(days=30), zone),  # not over
        ]
        for period in periods:
            new = figures.headline(session, period)["actions"]
            old = _old_action_figures(session, period)
            assert {key: new[key] for key in old} == old
            assert sum(old.values()) > 0


@pytest.fixture
def trust(factory):
    """Two wards' worth of actions, for the pages' query counts."""
    executive = factory.user(Role.EXECUTIVE, email="exec@example.org")
    manager = factory.user(Role.WARD_MANAGER, email="manager@example.org")
    wards = [factory.ward(name="Beech", managers=(manager,)), factory.ward(name="Cedar")]

    def add(n: int) -> None:
        today = factory.today()
        for i in range(n):
            ward = wards[i % 2]
            concern = factory.concern(factory.walkabout(ward, executive), likelihood=1 + i % 5, consequence=4)
            owner = manager if i % 3 else executive
            factory.action(concern, owner, due=today + timedelta(days=i % 7 - 3))

    add(3)
    return dict(executive=executive, manager=manager, add=add)


# The lists keep what they show at the data version (routes/actions/views.py, routes/walkabouts.py):
# after a change, the session record, the manager's wards, the counts and the rows; while nothing
# changes, the session record alone. The filters' choice lists are kept until those lists change.
LISTS = [
    ("executive", "/actions?mine=1", 4, 1),
    ("manager", "/actions?mine=1", 4, 1),
    ("executive", "/actions?overdue=1&sort=priority", 3, 1),
    ("executive", "/walkabouts", 3, 1),
    ("manager", "/walkabouts?mine=0", 5, 1),
]


@pytest.mark.parametrize(("who", "url", "changed", "unchanged"), LISTS)
def test_list_query_counts_are_fixed_and_one_while_nothing_changes(
    app, factory, trust, count_queries, who, url, changed, unchanged
):
    client = app.test_client()
    login(client, trust[who].email)
    client.get(url)
    trust["add"](1)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    trust["add"](30)
    with count_queries() as many:
        assert client.get(url).status_code == 200
    with count_queries() as kept:
        assert client.get(url).status_code == 200
    assert few() == many() == changed and kept() == unchanged


def test_dashboard_query_counts_are_fixed_cold_and_warm(app, trust, count_queries):
    # Warm (nothing changed since this process built the figures): the session record and the
    # probe of which concerns are old enough for "no action after 7 days" (reports/dashboard.key).
    # Cold (the first dashboard after any change): those, the headline figures (seven), the
    # programme's fidelity (seven, the seventh: revisits whose open actions were reviewed, issue 19)
    # and staff voice (six: priorities with their history, staff's answers, the statements, the
    # wards, both sides of the pulse for every quarter of the range in one, exposure in one).
    client = app.test_client()
    login(client, trust["executive"].email)
    counts = []
    for _ in range(2):
        for _cold_then_warm in range(2):
            with count_queries() as counted:
                assert client.get("/dashboard").status_code == 200
            counts.append(counted())
        trust["add"](30)
    assert counts == [22, 2, 22, 2]


# Home built (the first request after a change): the session record, the user's wards, my actions'
# counts and rows, today's walkabouts, and for executives their completed walkabouts and the two
# follow-up lists with their counts (a ward manager's wards are read twice: for the walkabouts and for
# the actions). Kept until the next change (services/versioned_cache): the session record alone.
HOME_BUILT = {"executive": 8, "manager": 6}
HOME_KEPT = 1


@pytest.mark.parametrize("who", HOME_BUILT)
def test_home_query_counts_are_fixed_and_home_is_kept_until_a_change(app, trust, count_queries, who):
    client = app.test_client()
    login(client, trust[who].email)
    client.get("/")
    counts = []
    for _ in range(2):
        trust["add"](30)
        for _ in range(2):  # built, then kept
            with count_queries() as counted:
                assert client.get("/").status_code == 200
            counts.append(counted())
    assert counts == [HOME_BUILT[who], HOME_KEPT] * 2


def test_a_signed_in_page_does_not_read_the_password_hash(app, client, trust):
    login(client, trust["manager"].email)
    client.get("/actions?mine=1")
    statements = []
    engine = get_db(app).engine
    listener = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert client.get("/actions?mine=1").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert statements and not [s for s in statements if "password_hash" in s]


def test_pages_are_compressed_with_brotli_or_gzip(client, trust):
    login(client, trust["executive"].email)
    plain = client.get("/actions?mine=1")
    assert plain.headers.get("Content-Encoding") is None
    page = plain.get_data(as_text=True)
    br = client.get("/actions?mine=1", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert br.headers["Content-Encoding"] == "br" and "Accept-Encoding" in br.headers["Vary"]
    assert len(br.data) < len(page.encode()) / 3
    assert "Action" in brotli.decompress(br.data).decode()
    gz = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and b"<html" in gzip.decompress(gz.data)


def test_no_compression_where_the_query_string_may_sit_beside_the_csrf_token(app, client, trust):
    # The sign-in page carries a CSRF token and echoes `next`: compressed, it would leak the
    # token to an attacker who can choose `next` and watch the response sizes (BREACH).
    reflected = client.get("/login?next=/actions%3Fguess%3DIjQ", headers={"Accept-Encoding": "br, gzip"})
    assert reflected.status_code == 200 and "csrf_token" in reflected.get_data(as_text=True)
    assert reflected.headers.get("Content-Encoding") is None
    plain = client.get("/login", headers={"Accept-Encoding": "br, gzip"})
    assert plain.headers["Content-Encoding"] == "br"
    login(client, trust["executive"].email)
    missing = client.get("/actions/999999", headers={"Accept-Encoding": "br, gzip"})
    assert missing.status_code == 404 and missing.headers.get("Content-Encoding") is None


def test_compression_can_be_left_to_a_proxy(database_url):
    app = make_app(database_url, COMPRESS_RESPONSES=False)
    response = app.test_client().get("/login", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200 and response.headers.get("Content-Encoding") is None


def test_home_lists_the_first_ten_of_my_actions_and_counts_them_all(client, factory, trust):
    trust["add"](30)  # 2 of every 3 belong to the manager, half of them on their ward
    login(client, trust["manager"].email)
    page = client.get("/").get_data(as_text=True)
    mine = client.get("/actions?mine=1").get_data(as_text=True)
    total = int(re.search(r"(\d+) actions", mine).group(1))
    assert total > 10
    assert page.count('<li class="list-item') == 10
    assert f"{total} open" in page and 'href="/actions?mine=1"' in page


def test_home_follow_up_shows_the_first_ten_of_a_long_backlog_and_counts_them_all(
    client, factory, count_queries
):
    executive = factory.user(Role.EXECUTIVE, email="lead@example.org")
    ward = factory.ward(name="Rowan")
    now, today = utcnow(), factory.today()

    def backlog(n: int) -> None:
        for i in range(n):
            visited = now - timedelta(days=30 + i)
            walkabout = factory.walkabout(
                ward, executive, start=visited, status=WalkaboutStatus.COMPLETED, completed_at=visited
            )
            factory.concern(walkabout, text=f"Backlog {i:02d}", feedback_due_on=today - timedelta(days=i + 1))

    login(client, executive.email)
    client.get("/")  # the choice lists cached; after each change below Home is built afresh
    backlog(12)
    with count_queries() as few:
        page = client.get("/").get_data(as_text=True)
    assert "12 concerns from your walkabouts have no action yet" in page
    assert "Feedback to staff is overdue on 12 concerns" in page
    assert page.count("And 2 more") == 2
    oldest_visit_first = [int(n) for n in re.findall(r"Backlog (\d+)</a>", page)]
    assert oldest_visit_first[:10] == list(range(11, 1, -1))  # without an action: oldest visit first
    assert oldest_visit_first[10:] == list(range(11, 1, -1))  # feedback: most overdue first
    backlog(20)
    with count_queries() as many:
        page = client.get("/").get_data(as_text=True)
    assert "32 concerns from your walkabouts have no action yet" in page and "And 22 more" in page
    assert few() == many()
