"""seed-demo --scale xlarge: three times the large trust, several walkabouts a day (benchmarks only)."""

from collections import Counter

from sqlmodel import select

from walkabout import demo
from walkabout.db import session_scope
from walkabout.models import User, Walkabout, WardManager
from walkabout.timeutil import local_today, to_local

from .conftest import login


def test_xlarge_is_three_large_trusts():
    large, xlarge = demo.SCALES["large"], demo.SCALES["xlarge"]
    for key in ("wards", "executives", "per_week"):
        assert xlarge[key] == 3 * large[key]
    assert xlarge["history_days"] == large["history_days"]
    assert xlarge["concerns"] == large["concerns"]


def test_xlarge_seeds_several_walkabouts_a_day_and_one_demo_walkabout_today(app, runner, monkeypatch):
    # Four weeks of history instead of ten years: the same code path in a fraction of a second.
    monkeypatch.setitem(demo.SCALES, "xlarge", dict(demo.SCALES["xlarge"], history_days=28))
    result = runner.invoke(args=["seed-demo", "--scale", "xlarge", "--password", "demo-password-123"])
    assert result.exit_code == 0, result.output
    with app.app_context(), session_scope(app) as session:
        executive = session.exec(select(User).where(User.email == "executive@example.org")).one()
        manager = session.exec(select(User).where(User.email == "manager@example.org")).one()
        walkabouts = session.exec(select(Walkabout)).all()
        today = local_today()
        managed = set(session.exec(select(WardManager.ward_id).where(WardManager.user_id == manager.id)))
        days = {w.id: to_local(w.scheduled_start).date() for w in walkabouts}
    per_day = Counter(days.values())
    assert max(per_day.values()) >= 2
    assert 1.4 < len(walkabouts) / len(per_day) < 2.1  # 8.7 a week over five weekdays
    todays = [w for w in walkabouts if w.lead_id == executive.id and days[w.id] == today]
    assert len(todays) == 1 and todays[0].ward_id in managed
    client = app.test_client()
    login(client, "executive@example.org", "demo-password-123")
    assert f'action="/walkabouts/{todays[0].id}/start"' in client.get("/").get_data(as_text=True)
