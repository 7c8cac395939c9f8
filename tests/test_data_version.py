"""The data version and the caches keyed on it: a change committed by any process is seen by the
next request everywhere, and nothing is built twice while nothing changed."""

import re

import sqlalchemy as sa
from sqlmodel import select

from walkabout.db import get_db, session_scope
from walkabout.models import DataVersion, UserSession, Ward
from walkabout.services import data_version, versioned_cache
from walkabout.services.versioned_cache import VersionedCache

from .conftest import login, make_app


def _versions(app) -> dict[str, int]:
    with session_scope(app, write=False) as session:
        return dict(session.exec(select(DataVersion.scope, DataVersion.version)).all())


def _moved(app, change) -> set[str]:
    before = _versions(app)
    change()
    after = _versions(app)
    return {scope for scope in data_version.SCOPES if after.get(scope, 0) != before.get(scope, 0)}


def test_each_commit_moves_the_scopes_it_changed_and_nothing_else(app, factory):
    executive = factory.user()
    ward = factory.ward(name="Rowan")
    walkabout = factory.walkabout(ward, executive)

    assert _moved(app, lambda: factory.concern(walkabout)) == {"records"}
    assert _moved(app, lambda: factory.ward(name="Holly")) == {"records", "choices"}

    def rename_in_bulk():
        with session_scope(app) as session:
            session.execute(sa.update(Ward).where(Ward.id == ward.id).values(name="Rowan North"))

    assert _moved(app, rename_in_bulk) == {"records", "choices"}

    def raw_sql():
        with session_scope(app) as session:
            session.execute(sa.text("UPDATE ward SET name = 'Rowan' WHERE id = :id"), {"id": ward.id})

    assert _moved(app, raw_sql) == {"records", "choices"}  # unknown tables: both

    def touch_sessions():
        with session_scope(app) as session:
            session.execute(sa.update(UserSession).values(last_seen_at=UserSession.last_seen_at))

    assert _moved(app, touch_sessions) == set()  # sign-in bookkeeping is no change to the data

    def rolled_back():
        try:
            with session_scope(app) as session:
                session.add(Ward(name="Never", site_id=ward.site_id))
                session.flush()
                raise RuntimeError("refused")
        except RuntimeError:
            pass

    assert _moved(app, rolled_back) == set()

    def read_only():
        with session_scope(app) as session:
            session.exec(select(Ward)).all()

    assert _moved(app, read_only) == set()


def test_remember_builds_once_per_version_and_afresh_after_a_change(app, factory):
    built = []

    def build():
        built.append(1)
        return len(built)

    def ask() -> int:
        with get_db(app).session() as session:
            return versioned_cache.remember(session, ("test",), build)

    assert (ask(), ask()) == (1, 1)
    factory.ward(name="Alder")
    assert (ask(), ask()) == (2, 2)

    elm = factory.ward(name="Elm")
    assert ask() == 3
    with get_db(app).session(write=True) as session:  # uncommitted changes: built, not kept
        session.add(Ward(name="Pending", site_id=elm.site_id))
        assert versioned_cache.remember(session, ("test",), build) == 4
    assert ask() == 3


def test_the_cache_keeps_the_most_recently_used_entries():
    cache = VersionedCache(max_entries=2)
    cache.get("a", 1, lambda: "A")
    cache.get("b", 1, lambda: "B")
    cache.get("a", 1, lambda: "not built")  # a was used last: b goes first
    cache.get("c", 1, lambda: "C")
    assert len(cache) == 2
    assert cache.get("a", 1, lambda: "rebuilt") == "A"
    assert cache.get("b", 1, lambda: "rebuilt") == "rebuilt"
    assert cache.get("a", 2, lambda: "new version") == "new version"


def _ward_filter(client) -> list[str]:
    page = client.get("/actions").get_data(as_text=True)
    select_html = page.split('id="f-ward"')[1].split("</select>")[0]
    names = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select_html)
    return [name.split(",")[0] for name in names]


def test_choice_lists_follow_a_change_from_any_process_at_once(app, client, factory, database_url):
    executive = factory.user()
    factory.ward(name="Beech")
    login(client, executive.email)
    assert _ward_filter(client) == ["Beech"]
    larch = factory.ward(name="Larch")  # committed by this process
    assert _ward_filter(client) == ["Beech", "Larch"]

    other_worker = make_app(database_url, create_tables=False)  # its own process cache
    with session_scope(other_worker) as session:
        session.get(Ward, larch.id).name = "Hazel"
    get_db(other_worker).engine.dispose()
    assert _ward_filter(client) == ["Beech", "Hazel"]  # the next request here sees it


def test_a_kept_page_links_under_the_script_root_it_is_served_from(app, client, factory):
    """Behind a proxy the app may be reached under a path prefix too: kept fragments are kept per root."""
    executive = factory.user()
    ward = factory.ward(name="Rowan")
    concern = factory.concern(factory.walkabout(ward, executive))
    factory.action(concern, executive, due=factory.today())
    login(client, executive.email)
    for path in ("/actions", "/"):
        plain = client.get(path).get_data(as_text=True)
        prefixed = client.get(path, base_url="http://localhost/trust").get_data(as_text=True)
        assert 'href="/actions/' in plain and 'href="/trust/actions/' not in plain
        assert 'href="/trust/actions/' in prefixed
