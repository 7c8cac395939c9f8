"""GET /actions: filters, sorting, pagination, htmx, the count summary, overdue in
the trust's time zone, and a query count that does not grow with rows."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from walkabout.models import ActionStatus, Role

from .conftest import login, post_form


@pytest.fixture
def world(app, factory):
    from walkabout.timeutil import local_today

    executive = factory.user(Role.EXECUTIVE, name="Erin Exec")
    manager = factory.user(Role.WARD_MANAGER, name="Mo Manager")
    north, south = factory.site("North Site"), factory.site("South Site")
    beech = factory.ward(north, "Beech Ward", managers=(manager,))
    cedar = factory.ward(south, "Cedar Ward")
    with app.app_context():
        today = local_today()
    beech_concern = factory.concern(factory.walkabout(beech, executive), likelihood=5, consequence=5)
    cedar_concern = factory.concern(factory.walkabout(cedar, executive), likelihood=1, consequence=2)
    rows = {
        "overdue": factory.action(
            beech_concern, manager, due=today - timedelta(days=2), description="A overdue"
        ),
        "soon": factory.action(
            beech_concern, executive, due=today + timedelta(days=3), description="B due soon"
        ),
        "later": factory.action(
            cedar_concern, executive, due=today + timedelta(days=40), description="C later"
        ),
        "done": factory.action(
            cedar_concern,
            manager,
            due=today - timedelta(days=9),
            description="D completed",
            status=ActionStatus.COMPLETED,
        ),
        "verified": factory.action(
            beech_concern,
            executive,
            due=today - timedelta(days=20),
            description="E verified",
            status=ActionStatus.VERIFIED,
        ),
    }
    return dict(executive=executive, manager=manager, north=north, beech=beech, cedar=cedar, rows=rows)


def listed(client, query: str) -> list[str]:
    page = client.get(f"/actions{query}").get_data(as_text=True)
    return re.findall(r'class="what" href="/actions/\d+">([^<]+)</a>', page)


def test_filters(client, world):
    login(client, world["executive"].email)
    assert listed(client, "") == ["A overdue", "B due soon", "C later"]
    assert listed(client, "?status=all") == [
        "A overdue",
        "B due soon",
        "C later",
        "E verified",
        "D completed",
    ]
    assert listed(client, "?status=completed") == ["D completed"]
    assert listed(client, "?status=verified") == ["E verified"]
    assert listed(client, "?overdue=1") == ["A overdue"]
    assert listed(client, "?due=week") == ["B due soon"]
    assert listed(client, f"?ward={world['cedar'].id}") == ["C later"]
    assert listed(client, f"?site={world['north'].id}&status=all") == [
        "A overdue",
        "B due soon",
        "E verified",
    ]
    assert listed(client, f"?owner={world['manager'].id}&status=all") == ["A overdue", "D completed"]
    assert listed(client, "?band=low") == ["C later"]
    assert listed(client, "?mine=1") == ["B due soon", "C later"]  # the executive's own
    assert listed(client, "?status=bogus&ward=abc&sort=nope&page=-3") == [
        "A overdue",
        "B due soon",
        "C later",
    ]


def test_sorting_and_pagination(app, client, world):
    login(client, world["executive"].email)
    assert listed(client, "?sort=-due") == ["C later", "B due soon", "A overdue"]
    assert listed(client, "?sort=priority") == ["A overdue", "B due soon", "C later"]
    assert listed(client, "?sort=ward&status=all") == [
        "A overdue",
        "B due soon",
        "E verified",
        "C later",
        "D completed",
    ]
    app.config["ACTIONS_PER_PAGE"] = 2
    assert listed(client, "?status=all") == ["A overdue", "B due soon"]
    page = client.get("/actions?status=all&page=3").get_data(as_text=True)
    assert "page 3 of 3" in page and 'href="/actions?status=all&amp;page=2"' in page
    assert listed(client, "?status=all&page=99") == ["D completed"]  # past the end: the last page


def test_ward_manager_sees_their_wards_and_what_they_own(client, world):
    login(client, world["manager"].email)
    assert listed(client, "?status=all") == ["A overdue", "B due soon", "E verified", "D completed"]
    assert listed(client, f"?ward={world['cedar'].id}&status=all") == [
        "D completed"
    ]  # owned, on another ward
    page = client.get("/actions").get_data(as_text=True)
    assert "Cedar Ward, South Site</option>" not in page  # filter lists only their wards


def test_summary_counts_and_overdue_highlight(client, world):
    login(client, world["executive"].email)
    page = client.get("/actions").get_data(as_text=True)
    summary = re.sub(r"\s+", " ", page.split('class="summary"')[1].split("</p>")[0])
    assert "<strong>3</strong> open" in summary and "<strong>1</strong> overdue" in summary
    assert "<strong>1</strong> awaiting verification" in summary
    assert page.count('class="list-item is-overdue"') == 1


def test_htmx_gets_the_fragment_and_the_url_is_bookmarkable(client, world):
    login(client, world["executive"].email)
    fragment = client.get("/actions?overdue=1", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "A overdue" in fragment and "B due soon" not in fragment
    full = client.get(
        "/actions?overdue=1", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in full.get_data(as_text=True)
    page = client.get("/actions?overdue=1").get_data(as_text=True)
    assert 'hx-push-url="true"' in page and 'id="f-overdue" name="overdue" value="1" checked' in page


def test_overdue_is_computed_in_the_trusts_time_zone(app, client, factory, world, time_machine):
    app.config["TIMEZONE"] = "Asia/Tokyo"
    # 23:30 UTC on 10 March is already 11 March in Tokyo.
    time_machine.move_to(datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False)
    concern = factory.concern(factory.walkabout(world["beech"], world["executive"]))
    factory.action(concern, world["executive"], due=date(2026, 3, 10), description="Due on the tenth")
    login(client, world["executive"].email)
    assert "Due on the tenth" in listed(client, "?overdue=1")
    app.config["TIMEZONE"] = "UTC"
    assert "Due on the tenth" not in listed(client, "?overdue=1")


def test_list_queries_do_not_grow_with_rows(app, client, factory, world, count_queries):
    login(client, world["manager"].email)
    larch = factory.ward(name="Larch", managers=(world["manager"],))
    extra = factory.concern(factory.walkabout(larch, world["executive"]))
    client.get("/actions?status=all")

    def a_change(n: int) -> None:  # the list is built again at the next request
        factory.action(extra, world["manager"], description=f"Change {n}")

    a_change(1)
    with count_queries() as few:
        assert client.get("/actions?status=all").status_code == 200
    for i in range(12):
        ward = factory.ward(name=f"Extra {i}", managers=(world["manager"],))
        concern = factory.concern(factory.walkabout(ward, world["executive"]))
        factory.action(concern, factory.user(Role.WARD_MANAGER), description=f"Extra action {i}")
    assert "Extra 11" in client.get("/actions?status=all").get_data(as_text=True)  # new wards: lists refilled
    a_change(2)
    with count_queries() as many:
        page = client.get("/actions?status=all").get_data(as_text=True)
    assert many() == few()
    assert page.count('class="what" href="/actions/') == 18
    a_change(3)
    with count_queries() as fragment:
        client.get("/actions?status=all", headers={"HX-Request": "true"})
    assert fragment() == many()  # the filters' choice lists are kept until they change
    with count_queries() as unchanged:
        assert "Change 3" in client.get("/actions?status=all").get_data(as_text=True)
    assert unchanged() == 1  # nothing changed: the session record alone


def test_lists_show_at_once_what_another_client_changed_and_only_what_each_user_may_see(
    app, client, factory, world
):
    # Lists are kept at the data version (routes/actions/views.py): shared by everyone who sees every
    # ward, kept apart for a ward manager, and built again after any change, whoever made it.
    login(client, world["executive"].email)
    manager = app.test_client()
    login(manager, world["manager"].email)
    colleague = app.test_client()
    login(colleague, factory.user(Role.EXECUTIVE, name="Olu Colleague").email)
    assert listed(client, "") == listed(colleague, "") == ["A overdue", "B due soon", "C later"]
    assert listed(manager, "") == ["A overdue", "B due soon"]  # Beech only: Cedar is not theirs
    assert listed(client, "?overdue=1&sort=priority") == ["A overdue"]
    path = f"/actions/{world['rows']['overdue'].id}"
    version = re.search(
        r'name="complete-version" type="hidden" value="(\d+)"', manager.get(path).get_data(as_text=True)
    )
    completed = post_form(
        manager,
        f"{path}/complete",
        {"complete-closure_note": "Fixed", "complete-version": version.group(1)},
        path,
    )
    assert completed.status_code == 303
    assert listed(client, "?overdue=1&sort=priority") == []
    assert listed(colleague, "") == ["B due soon", "C later"]
    page = client.get("/actions").get_data(as_text=True)
    assert re.search(r"<strong>0</strong> overdue", page) and re.search(r"<strong>2</strong> awaiting", page)
    assert listed(manager, "?status=completed") == ["D completed", "A overdue"]  # soonest due first
