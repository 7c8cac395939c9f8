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
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import ImmutableMultiDict
from wtforms.fields.core import UnboundField

from walkabout.forms import actions as action_forms
from walkabout.forms import admin_lists as list_forms
from walkabout.forms import auth as auth_forms
from walkabout.forms import capture as capture_forms
from walkabout.forms import places as place_forms
from walkabout.forms import rag as rag_forms
from walkabout.forms import reports as report_forms
from walkabout.forms import users as user_forms
from walkabout.forms import walkabouts as walkabout_forms
from walkabout.models import Role

from .conftest import TEST_SECRET, csrf_token, login, make_app
from .factories import Factory
from .hostile import (
    build_people,
    build_world,
    form_data,
    hostile_scalar,
    plausible_values,
    shared_app,
    table_fingerprint,
)

MAX_EXAMPLES = 15  # per form; routes without fields get fewer
MAX_EXAMPLES_NO_FIELDS = 4
# A failed sign-in (or current-password check) is recorded on purpose: throttling, the
# audit trail and the owner's warning email.
SIGN_IN_RECORDS = frozenset({"login_throttle", "audit_event", "sent_notification"})
COUNTS_FAILURES = frozenset(
    {
        "auth.login",
        "account.password",
        "two_factor.verify",
        "two_factor.manage",
        "two_factor.recovery_codes",
        "two_factor.turn_off",
    }
)


def form_fields(form_class, prefix: str = "") -> list[str]:
    """The names a browser posts for `form_class` (without the CSRF token)."""
    names = sorted(name for name in dir(form_class) if isinstance(getattr(form_class, name), UnboundField))
    return [f"{prefix}-{name}" if prefix else name for name in names]


def entry(poster: str, path: dict | None = None, form=None, prefix: str = "", extra: tuple = ()) -> dict:
    fields = (form_fields(form, prefix) if form else []) + list(extra)
    return {"poster": poster, "path": path or {}, "fields": fields}


W, C, A_ = walkabout_forms, capture_forms, action_forms
# The ward pulse's fields: the default statements' ids (migration 0008 adds them in this order).
PULSE_FIELDS = ("statement-1", "statement-2", "statement-3")
FORMS = {
    "auth.login": entry("none", form=auth_forms.LoginForm),
    "auth.logout": entry("E", extra=("next",)),
    "account.password": entry("P", form=auth_forms.PasswordChangeForm),
    "account.end_session": entry("S", extra=("session_id",)),
    "account.end_all_sessions": entry("S", extra=("anything",)),
    "admin_users.unblock": entry("A", {"user_id": "user:E2"}, extra=("anything",)),
    "admin_users.reset_two_factor": entry("A", {"user_id": "user:E2"}, extra=("anything",)),
    "two_factor.verify": entry("none", form=auth_forms.SecondFactorForm),
    "two_factor.setup": entry("none", form=auth_forms.SecondFactorForm),
    "two_factor.manage": entry("E", form=auth_forms.SecondFactorForm),
    "two_factor.recovery_codes": entry("E", form=auth_forms.SecondFactorForm),
    "two_factor.turn_off": entry("E", form=auth_forms.SecondFactorForm, prefix="off"),
    "password_reset.request_link": entry("none", form=auth_forms.ResetRequestForm),
    "password_reset.choose": entry("none", {"token": "reset_token"}, auth_forms.NewPasswordForm),
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
    "report_settings.thresholds": entry("A", form=rag_forms.RagThresholdsForm),
    "admin_places.edit_site": entry("A", {"site_id": "site"}, place_forms.SiteForm),
    "admin_places.new_ward": entry("A", form=place_forms.WardForm),
    "admin_places.edit_ward": entry("A", {"ward_id": "ward"}, place_forms.WardForm),
    "admin_lists.add": entry("A", form=list_forms.ListChangeForm),
    "admin_lists.rename": entry("A", form=list_forms.ListChangeForm),
    "admin_lists.move": entry("A", form=list_forms.ListChangeForm),
    "admin_lists.set_active": entry("A", form=list_forms.ListChangeForm),
    "admin_trust.save_name": entry("A", form=list_forms.TrustNameForm),
    "admin_trust.upload_logo": entry("A", form=list_forms.LogoForm),
    "admin_trust.remove_logo": entry("A", form=list_forms.RemoveLogoForm),
    "admin_trust.save_risk_labels": entry("A", form=list_forms.RiskLabelsForm),
    "walkabouts.new": entry("E", form=W.ScheduleForm),
    "walkabouts.edit": entry("E", {"walkabout_id": "planned"}, W.EditWalkaboutForm),
    "walkabouts.cancel": entry("E", {"walkabout_id": "planned"}, W.CancelWalkaboutForm),
    "walkabouts.open_actions_reviewed": entry("E", {"walkabout_id": "planned"}, W.OpenActionsReviewedForm),
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
    "capture.set_priority": entry(
        "E", {"walkabout_id": "in_progress", "concern_id": "concern"}, extra=("priority",)
    ),
    "capture.complete": entry("E", {"walkabout_id": "in_progress"}, C.CompleteForm, extra=PULSE_FIELDS),
    "capture.late_note": entry("E", {"walkabout_id": "done"}, C.LateNoteForm),
    "capture.leader_answers": entry("E", {"walkabout_id": "done"}, extra=("ward_id", *PULSE_FIELDS)),
    "actions.assign": entry("M", {"concern_id": "concern"}, A_.AssignForm, extra=("then",)),
    "actions.ward_fix": entry("M", {"concern_id": "concern"}, extra=("version", "back")),
    "actions.no_action": entry("E", {"concern_id": "concern"}, A_.NoActionForm, "noaction"),
    "actions.post_update": entry("M", {"action_id": "action"}, A_.ProgressForm, "progress"),
    "actions.change_due_date": entry("M", {"action_id": "action"}, A_.DueDateForm, "due"),
    "actions.complete": entry("M", {"action_id": "action"}, A_.CompleteForm, "complete"),
    "actions.verify": entry("E", {"action_id": "action"}, A_.VerifyForm, "verify"),
    "actions.reopen": entry("E", {"action_id": "action"}, A_.ReopenForm, "reopen"),
    "feedback.share": entry("E", {"ward_id": "ward"}, extra=("anything",)),
    "feedback.revoke": entry("E", {"ward_id": "ward"}, extra=("anything",)),
    "feedback.record_delivery": entry("E", {"ward_id": "ward"}, A_.DeliveryForm),
    "feedback.write": entry("E", {"concern_id": "done_concern"}, A_.FeedbackUpdateForm),
    "feedback.answer_pulse": entry("none", {"token": "public_token"}, extra=PULSE_FIELDS),
    "feedback.answer_fixed": entry(
        "none", {"token": "public_token", "concern_id": "done_concern"}, extra=("answer",)
    ),
    "reports.generate": entry("S", {"month": "month"}, report_forms.GeneratePackForm, extra=("anything",)),
}
# Path values besides the route's own record: another ward's, missing, zero and out of any integer range.
OTHER_IDS = {
    "planned": "other_walkabout",
    "in_progress": "other_walkabout",
    "done": "other_walkabout",
    "concern": "other_concern",
    "done_concern": "other_concern",
    "public_token": "other_ward",
    "action": "other_action",
    "ward": "other_ward",
    "site": "other_site",
}
ODD_IDS = ["0", "999999", "2147483648", "9223372036854775808", "99999999999999999999"]
ODD_MONTHS = ["0000-00", "9999-12", "2026-13", "<script>", "2026-1", "%00"]
# Reset links: forged, malformed, signed with another key, huge.
ODD_RESET_TOKENS = [
    "x",
    "not-a-token",
    "MQ.aGVsbG8.c2lnbmF0dXJl",
    "eyJhbGciOiJub25lIn0",
    "A" * 500,
    "%3Cscript%3E",
    "999999999999",
]


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
    if key == "reset_token":
        return st.sampled_from(ODD_RESET_TOKENS)
    if key.startswith("unsubscribe:"):  # a genuine one-click token, or forged and broken ones
        from walkabout.notify.unsubscribe import make_token
        from walkabout.services import notification_kinds as kinds

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
    exempt = SIGN_IN_RECORDS if endpoint in COUNTS_FAILURES else frozenset()
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


# --- query strings: every GET route, with hostile values in the arguments it reads ---

# path parameter of a GET route -> the world record it points at ("user:X" for a user's id)
GET_PATH_KEYS = {
    "walkabout_id": "in_progress",
    "concern_id": "concern",
    "action_id": "action",
    "ward_id": "ward",
    "site_id": "site",
    "series_id": "series",
    "user_id": "user:E2",
    "photo_id": "photo",
    "pack_id": "pack",
    "month": "month",
    "token": "token",
    "name": "chart",
    "filename": "static",
}
GET_EXAMPLES = 8
# arguments every route may be sent (links carry them around), besides the ones it reads
ALWAYS_SENT = ("next", "page", "ward", "site")
PATH_EXTRAS = {
    "token": ["not-a-real-token", "%00", "a" * 300, "<script>"],
    "chart": ["walkabouts", "categories", "nope", "%0d%0a"],
    "static": ["css/app.css"],
}


def get_routes(app) -> dict[str, str]:
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint != "static"
    }


def get_poster(endpoint: str) -> str:
    """Someone the authorization matrix lets in (signed out only for the sign-in page)."""
    from .test_authorization_matrix import PUBLIC, RULES

    allowed = RULES[endpoint]
    if endpoint == "auth.login":
        return "none"
    if allowed == PUBLIC:
        return "E"
    for role, poster in ((Role.EXECUTIVE, "E"), (Role.WARD_MANAGER, "M"), (Role.BOARD_SECRETARY, "S")):
        if role in allowed:
            return poster
    return "A"


class RecordingArgs(ImmutableMultiDict):
    """Query arguments that remember which names the app asked for."""

    asked: ClassVar[set[str]] = set()

    def get(self, key, default=None, type=None):
        RecordingArgs.asked.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):
        RecordingArgs.asked.add(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        RecordingArgs.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        RecordingArgs.asked.add(key)
        return super().__contains__(key)


def test_every_get_route_path_parameter_has_a_record(app):
    for endpoint, rule in get_routes(app).items():
        params = set(re.findall(r"<(?:\w+:)?(\w+)>", rule))
        assert params <= set(GET_PATH_KEYS), f"{endpoint}: add its path parameters to GET_PATH_KEYS"


def get_path_values(world, key: str):
    if key in PATH_EXTRAS:
        return st.sampled_from(PATH_EXTRAS[key])
    return path_values(world, key)


@pytest.mark.parametrize("endpoint", sorted(get_routes(make_app("sqlite://"))))
def test_hostile_query_strings_never_500(module_app, people, endpoint, monkeypatch):
    app = module_app
    rule = get_routes(app)[endpoint]
    users, sessions = people
    world = build_world(app, Factory(app), users)
    world.ids["token"] = "not-a-real-token"
    poster_key = get_poster(endpoint)
    poster = users.get(poster_key)
    state = sessions.setdefault(poster_key, {"client": app.test_client()})
    client = state["client"]
    if "token" not in state:  # signed in once per poster, shared with the POST tests
        if poster is not None:
            assert login(client, poster.email).status_code == 303
        state["token"] = csrf_token(client, "/" if poster is not None else "/login")
    monkeypatch.setattr(app.request_class, "parameter_storage_class", RecordingArgs)
    params = re.findall(r"<(?:\w+:)?(\w+)>", rule)
    own = {param: str(world.ids.get(GET_PATH_KEYS[param], "")) for param in params}
    own.update(
        {
            param: PATH_EXTRAS[GET_PATH_KEYS[param]][0]
            for param in params
            if GET_PATH_KEYS[param] in PATH_EXTRAS
        }
    )
    if "user_id" in own:
        own["user_id"] = str(users["E2"].id)
    RecordingArgs.asked = set()
    assert client.get(build_url(rule, own)).status_code < 500
    names = sorted(RecordingArgs.asked | set(ALWAYS_SENT))
    paths = st.fixed_dictionaries({param: get_path_values(world, GET_PATH_KEYS[param]) for param in params})
    hostile = hostile_scalar(world.id_strings)

    @settings(
        max_examples=GET_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @example(path=own, query=dict.fromkeys(names, "²"), htmx={})  # every argument a Unicode digit
    @example(path=own, query=dict.fromkeys(names, "/\r\nX: 1"), htmx={"HX-Request": "true"})
    @given(
        path=paths,
        query=st.dictionaries(st.sampled_from(names), st.one_of(hostile, st.lists(hostile, max_size=2))),
        htmx=st.sampled_from(
            [{}, {"HX-Request": "true"}, {"HX-Request": "true", "HX-History-Restore-Request": "true"}]
        ),
    )
    def get_hostile(path, query, htmx):
        url = build_url(rule, path)
        response = client.get(url, query_string=query, headers=htmx)
        assert response.status_code < 500, f"GET {url} {query!r} answered {response.status_code}"

    get_hostile()


HOSTILE_QUERIES = [
    ("E", "/actions?ward=²"),
    ("E", "/actions?site=²"),
    ("E", "/actions?owner=²"),
    ("E", "/actions?page=²"),
    ("E", "/walkabouts?ward=²"),
    ("E", "/walkabouts?site=²&lead=²"),
    ("E", "/walkabouts?page=²"),
    ("E", "/walkabouts/new?ward=²"),
    ("E", "/coverage?days=²"),
    ("E", "/coverage?site=²"),
    ("E", "/walkabouts/{in_progress}/capture?undo=²"),
    ("A", "/admin/wards?site=²"),
    ("A", "/admin/wards/new?site=²"),
    ("A", "/admin/audit?actor=²&record=²&page=²"),
    ("S", "/admin/audit.csv?actor=²&record=²&from=²"),
    ("S", "/reports/monthly/2026-10.pdf?version=²"),
]


@pytest.mark.parametrize(("poster", "query"), HOSTILE_QUERIES)
@pytest.mark.parametrize("digit", ["²", "٣", "\uff11"])
def test_unicode_digits_in_the_query_are_ignored_not_500(module_app, people, poster, query, digit):
    users, _ = people
    world = build_world(module_app, Factory(module_app), users)
    client = module_app.test_client()
    assert login(client, users[poster].email).status_code == 303
    response = client.get(query.replace("²", digit).format(**world.ids))
    assert response.status_code in (200, 404), response.status_code


@pytest.mark.parametrize(
    "next_url", ["/\r\nSet-Cookie: x=1", "/actions\n", "/%0d%0a", "/\x00", "/\x7f", "/a\tb"]
)
def test_control_characters_in_next_are_refused_at_sign_in(module_app, people, next_url):
    users, _ = people
    client = module_app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": users["S"].email, "password": Factory.PASSWORD, "csrf_token": token},
    )
    if response.status_code == 400:  # NUL bytes are refused before any route runs
        assert "\x00" in next_url
        return
    assert response.status_code == 303
    location = response.headers["Location"]
    assert not any(ord(char) < 32 or ord(char) == 127 for char in location)
    if any(ord(char) < 32 or ord(char) == 127 for char in next_url):
        assert location == "/"
