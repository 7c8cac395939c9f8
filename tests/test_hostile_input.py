"""Hostile input posted to every form: generated values (empty, 100 KB, unicode,
control characters, NUL bytes, numbers out of range, negative and other people's
ids, impossible dates, HTML/JS) must never give a 500, and a refused request
(4xx) must store nothing.

`FORMS` says, for each POST route, who posts, which records its URL points at
and which fields it reads (from the WTForms form class where there is one). A
POST route without an entry fails `test_every_post_route_has_a_form_entry`.
"""

import io
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

from walkabout.forms import actions as action_forms
from walkabout.forms import auth as auth_forms
from walkabout.forms import capture as capture_forms
from walkabout.forms import places as place_forms
from walkabout.forms import users as user_forms
from walkabout.forms import walkabouts as walkabout_forms

from .conftest import TEST_SECRET, csrf_token, login
from .factories import Factory
from .hostile import build_people, build_world, form_data, plausible_values, shared_app, table_fingerprint

MAX_EXAMPLES = 15  # per form; routes without fields get fewer
MAX_EXAMPLES_NO_FIELDS = 4
# A failed sign-in is recorded on purpose (throttling and the audit trail).
SIGN_IN_RECORDS = frozenset({"login_throttle", "audit_event"})


def form_fields(form_class, prefix: str = "") -> list[str]:
    """The names a browser posts for `form_class` (without the CSRF token)."""
    names = sorted(name for name in dir(form_class) if isinstance(getattr(form_class, name), UnboundField))
    return [f"{prefix}-{name}" if prefix else name for name in names]


def entry(poster: str, path: dict | None = None, form=None, prefix: str = "", extra: tuple = ()) -> dict:
    fields = (form_fields(form, prefix) if form else []) + list(extra)
    return {"poster": poster, "path": path or {}, "fields": fields}


W, C, A_ = walkabout_forms, capture_forms, action_forms
FORMS = {
    "auth.login": entry("none", form=auth_forms.LoginForm),
    "auth.logout": entry("E", extra=("next",)),
    "account.password": entry("P", form=auth_forms.PasswordChangeForm),
    "calendar.rotate": entry("E", extra=("anything",)),
    "calendar.alarms": entry("E", extra=("alarms",)),
    "unsubscribe.one_click": entry("none", {"token": "unsubscribe:M"}, extra=("List-Unsubscribe",)),
    "notifications.mark_read": entry("M", extra=("anything",)),
    "notifications.preferences": entry("M", extra=("kinds", "new_actions")),
    "admin_users.new": entry("A", form=user_forms.UserCreateForm),
    "admin_users.edit": entry("A", {"user_id": "user:E2"}, user_forms.UserEditForm),
    "admin_users.set_active": entry("A", {"user_id": "user:E2"}, extra=("active",)),
    "admin_users.reset_password": entry("A", {"user_id": "user:E2"}, user_forms.PasswordResetForm),
    "admin_places.new_site": entry("A", form=place_forms.SiteForm),
    "admin_places.edit_site": entry("A", {"site_id": "site"}, place_forms.SiteForm),
    "admin_places.new_ward": entry("A", form=place_forms.WardForm),
    "admin_places.edit_ward": entry("A", {"ward_id": "ward"}, place_forms.WardForm),
    "walkabouts.new": entry("E", form=W.ScheduleForm),
    "walkabouts.edit": entry("E", {"walkabout_id": "planned"}, W.EditWalkaboutForm),
    "walkabouts.cancel": entry("E", {"walkabout_id": "planned"}, W.CancelWalkaboutForm),
    "series.show": entry("E", {"series_id": "series"}, W.SeriesEditForm),
    "series.cancel": entry("E", {"series_id": "series"}, W.CancelSeriesForm, "cancel"),
    "series.rota": entry("E", form=W.RotaForm, extra=("accept",)),
    "capture.start": entry("E", {"walkabout_id": "planned"}, extra=("anything",)),
    "capture.start_adhoc": entry("E", form=C.AdhocForm),
    "capture.log_concern": entry("E", {"walkabout_id": "in_progress"}, C.ConcernForm),
    "capture.edit_concern": entry(
        "E", {"walkabout_id": "in_progress", "concern_id": "concern"}, C.ConcernForm
    ),
    "capture.delete_concern": entry(
        "E", {"walkabout_id": "in_progress", "concern_id": "concern"}, extra=("anything",)
    ),
    "capture.restore_concern": entry(
        "E", {"walkabout_id": "in_progress", "concern_id": "concern"}, extra=("anything",)
    ),
    "capture.complete": entry("E", {"walkabout_id": "in_progress"}, C.CompleteForm),
    "capture.late_note": entry("E", {"walkabout_id": "done"}, C.LateNoteForm),
    "actions.assign": entry("M", {"concern_id": "concern"}, A_.AssignForm, extra=("then",)),
    "actions.ward_fix": entry("M", {"concern_id": "concern"}, extra=("anything",)),
    "actions.no_action": entry("E", {"concern_id": "concern"}, A_.NoActionForm, "noaction"),
    "actions.post_update": entry("M", {"action_id": "action"}, A_.ProgressForm, "progress"),
    "actions.change_due_date": entry("M", {"action_id": "action"}, A_.DueDateForm, "due"),
    "actions.complete": entry("M", {"action_id": "action"}, A_.CompleteForm, "complete"),
    "actions.verify": entry("E", {"action_id": "action"}, A_.VerifyForm, "verify"),
    "actions.reopen": entry("E", {"action_id": "action"}, A_.ReopenForm, "reopen"),
    "feedback.share": entry("E", {"ward_id": "ward"}, extra=("anything",)),
    "feedback.revoke": entry("E", {"ward_id": "ward"}, extra=("anything",)),
    "feedback.record_delivery": entry("E", {"ward_id": "ward"}, A_.DeliveryForm),
    "reports.generate": entry("S", {"month": "month"}, extra=("anything",)),
}
# Path values besides the route's own record: another ward's, missing, zero and out of any integer range.
OTHER_IDS = {
    "planned": "other_walkabout",
    "in_progress": "other_walkabout",
    "done": "other_walkabout",
    "concern": "other_concern",
    "action": "other_action",
    "ward": "other_ward",
    "site": "other_site",
}
ODD_IDS = ["0", "999999", "2147483648", "9223372036854775808", "99999999999999999999"]
ODD_MONTHS = ["0000-00", "9999-12", "2026-13", "<script>", "2026-1", "%00"]


def post_routes(app) -> dict[str, str]:
    return {rule.endpoint: rule.rule for rule in app.url_map.iter_rules() if "POST" in rule.methods}


def test_every_post_route_has_a_form_entry(app):
    routes = post_routes(app)
    missing, stale = set(routes) - set(FORMS), set(FORMS) - set(routes)
    assert not missing, f"POST routes without an entry in FORMS: {sorted(missing)}"
    assert not stale, f"entries in FORMS for routes that no longer exist: {sorted(stale)}"
    for endpoint, rule in routes.items():
        params = set(re.findall(r"<(?:\w+:)?(\w+)>", rule))
        assert params == set(FORMS[endpoint]["path"]), f"{endpoint}: path parameters {params}"


def path_values(world, key: str):
    """The route's own record (most often), another ward's, or an id no record has."""
    if key == "month":
        return st.one_of(st.just("2026-10"), st.sampled_from(ODD_MONTHS))
    if key.startswith("unsubscribe:"):  # a genuine one-click token, or forged and broken ones
        from walkabout.notify import kinds
        from walkabout.notify.unsubscribe import make_token

        real = make_token({"SECRET_KEY": TEST_SECRET}, world.users[key[12:]].id, kinds.REMINDER_WARD)
        forged = make_token({"SECRET_KEY": "another-secret"}, world.users[key[12:]].id, kinds.REMINDER_WARD)
        return st.one_of(st.just(real), st.sampled_from([forged, real[:-2], "x" * 300, "%00", *ODD_IDS]))
    if key.startswith("user:"):
        own = str(world.users[key[5:]].id)
        others = [str(user.id) for user in world.users.values()] + ODD_IDS
    else:
        own = str(world.ids[key])
        others = ([str(world.ids[OTHER_IDS[key]])] if key in OTHER_IDS else []) + ODD_IDS
    return st.one_of(st.just(own), st.just(own), st.sampled_from(others))


def build_url(rule: str, values: dict) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda match: values[match.group(1)], rule)


def as_files(data: dict) -> dict:
    """Photo fields go up as files (hostile bytes named after the hostile value)."""
    out = {}
    for key, value in data.items():
        if key.endswith("photo") and value:
            text = value if isinstance(value, str) else "".join(value)
            out[key] = (io.BytesIO(text.encode()[:2000]), "photo.jpg")
        else:
            out[key] = value
    return out


@pytest.fixture(scope="module")
def module_app(tmp_path_factory):
    """One database for the whole module (each route gets its own fresh world in it)."""
    yield from shared_app(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def people(module_app):
    """The module's users, and per poster a client signed in once (password checks are slow on purpose)."""
    return build_people(Factory(module_app)), {}


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_hostile_values_never_500_and_refusals_store_nothing(module_app, people, endpoint):
    app = module_app
    spec = FORMS[endpoint]
    rule = post_routes(app)[endpoint]
    users, sessions = people
    world = build_world(app, Factory(app), users)
    plausible = plausible_values(world)
    poster = users.get(spec["poster"])
    state = sessions.setdefault(spec["poster"], {"client": app.test_client()})
    client = state["client"]

    def sign_in():
        if poster is not None:
            assert login(client, poster.email).status_code == 303
        return csrf_token(client, "/" if poster is not None else "/login")

    if "token" not in state:
        state["token"] = sign_in()
    exempt = SIGN_IN_RECORDS if endpoint == "auth.login" else frozenset()
    paths = st.fixed_dictionaries({param: path_values(world, key) for param, key in spec["path"].items()})

    examples = MAX_EXAMPLES if len(spec["fields"]) > 1 else MAX_EXAMPLES_NO_FIELDS

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(path=paths, data=form_data(spec["fields"], plausible, world.id_strings), htmx=st.booleans())
    def post_hostile(path, data, htmx):
        url = build_url(rule, path)
        before = table_fingerprint(app, exempt)
        headers = {"HX-Request": "true"} if htmx else {}
        response = client.post(url, data={**as_files(data), "csrf_token": state["token"]}, headers=headers)
        status = response.status_code
        assert status < 500, f"POST {url} answered {status}"
        if 400 <= status < 500:
            assert table_fingerprint(app, exempt) == before, f"POST {url} was refused ({status}) but stored"
        signed_out = endpoint == "auth.logout" and status < 400
        if signed_out or response.headers.get("Location", "").startswith("/login"):
            state["token"] = sign_in()  # signed out (logout, or the poster's account changed): sign in again

    post_hostile()
