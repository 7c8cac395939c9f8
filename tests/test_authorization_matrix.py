"""Every route, for every role and signed out: the expected answer.

A route added without a rule here fails `test_every_route_has_a_rule`, so no
page ships without a decision about who may use it.
"""

import re

import pytest

from walkabout.models import Role

from .conftest import csrf_from, login

E, M, S, A = Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY, Role.ADMIN
SIGNED_IN = frozenset({E, M, S, A})
PUBLIC = "public"

# endpoint -> who may use it (PUBLIC: anyone, even signed out)
RULES: dict[str, object] = {
    "auth.login": PUBLIC,
    "about.accessibility": PUBLIC,
    "about.trust_logo": PUBLIC,  # 404 until an administrator uploads one; emails show it
    "auth.logout": SIGNED_IN,
    "health.healthz": PUBLIC,
    "home.index": SIGNED_IN,
    "account.password": SIGNED_IN,
    # signed-in devices and recovery (issue 20)
    "account.end_session": SIGNED_IN,
    "account.end_all_sessions": SIGNED_IN,
    "admin_users.unblock": {A},
    # single sign-on and the second factor (issue 23): the provider's answer, or a password
    # that was right, is the key (signed out, they go back to /login)
    "sso.start": PUBLIC,  # 404 unless WALKABOUT_OIDC_ISSUER is set
    "sso.callback": PUBLIC,
    "two_factor.verify": PUBLIC,
    "two_factor.setup": PUBLIC,
    "two_factor.manage": SIGNED_IN,
    "two_factor.recovery_codes": SIGNED_IN,
    "two_factor.turn_off": SIGNED_IN,
    "admin_users.reset_two_factor": {A},
    "password_reset.request_link": PUBLIC,
    "password_reset.choose": PUBLIC,  # the signed, single-use token is the key
    "admin_users.index": {A},
    "admin_users.new": {A},
    "admin_users.edit": {A},
    "admin_users.set_active": {A},
    "admin_users.reset_password": {A},
    "photos.full": SIGNED_IN,
    "photos.thumbnail": SIGNED_IN,
    # the programme (issue 3): everyone signed in sees it (ward managers: their wards);
    # executives and admins schedule and change it
    "walkabouts.index": SIGNED_IN,
    "walkabouts.show": SIGNED_IN,
    "walkabouts.ics": SIGNED_IN,
    "walkabouts.new": {E, A},
    "walkabouts.edit": {E, A},
    "walkabouts.cancel": {E, A},
    "walkabouts.open_actions_reviewed": {E},
    "series.show": {E, A},
    "series.cancel": {E, A},
    "series.rota": {E, A},
    "coverage.index": SIGNED_IN,
    "calendar.settings": SIGNED_IN,
    "calendar.rotate": SIGNED_IN,
    "calendar.feed": PUBLIC,  # the private token is the key
    "calendar.alarms": SIGNED_IN,
    "unsubscribe.confirm": PUBLIC,  # the signed token is the key (a wrong one is a 404)
    "unsubscribe.one_click": PUBLIC,
    "admin_places.sites": {A},
    # lists, trust settings (issue 17): administrators change them
    "admin_lists.index": {A},
    "admin_lists.categories": {A},
    "admin_lists.script": {A},
    "admin_lists.staff_roles": {A},
    "admin_lists.pulse_statements": {A},
    "admin_lists.add": {A},
    "admin_lists.rename": {A},
    "admin_lists.move": {A},
    "admin_lists.set_active": {A},
    "admin_trust.settings": {A},
    "admin_trust.save_name": {A},
    "admin_trust.upload_logo": {A},
    "admin_trust.remove_logo": {A},
    "admin_trust.save_risk_labels": {A},
    # the audit log (issue 17): read-only, for administrators and board secretaries (IG reviews)
    "admin_audit.index": {A, S},
    "admin_audit.export": {A, S},
    "report_settings.thresholds": {A},  # RAG thresholds of the board pack (issue 19)
    "admin_places.new_site": {A},
    "admin_places.edit_site": {A},
    "admin_places.wards": {A},
    "admin_places.new_ward": {A},
    "admin_places.edit_ward": {A},
    # conducting a walkabout (issue 4): executives (on the team, checked by the service)
    "capture.start": {E},
    # the installable app (issue 14): worker, manifest and offline page hold nothing personal;
    # the sender's session answer is the signed-in user's own
    "offline.worker": PUBLIC,
    "offline.manifest": PUBLIC,
    "offline.offline_page": PUBLIC,
    "offline.session_check": SIGNED_IN,
    "capture.start_adhoc": {E},
    "capture.capture_page": {E},
    "capture.log_concern": {E},
    "capture.edit_concern": {E},
    "capture.delete_concern": {E},
    "capture.restore_concern": {E},
    "capture.readback": {E},
    "capture.set_priority": {E},
    "capture.complete": {E},
    "capture.late_note": {E},
    "capture.leader_answers": {E},  # executives on the walkabout's team (issue 18 part 4)
    # actions (issue 5): owners and ward managers work them, executives verify
    "actions.index": SIGNED_IN,
    "actions.show": SIGNED_IN,
    "actions.assign": {E, M},
    "actions.ward_fix": {E, M},
    "actions.post_update": {E, M},
    "actions.change_due_date": {E, M},
    "actions.complete": {E, M},
    "actions.verify": {E},
    "actions.reopen": {E},
    "actions.no_action": {E},
    "feedback.index": SIGNED_IN,
    "feedback.ward": SIGNED_IN,
    "feedback.share": {E, A},
    "feedback.revoke": {E, A},
    "feedback.record_delivery": {E},
    # follow-up (issue 15): the walkabout's executives and the action's owner (checked by the service)
    "feedback.write": {E, M},
    "feedback.public": PUBLIC,  # the ward's hard-to-guess token is the key
    "feedback.qr_code": PUBLIC,
    "feedback.answer_fixed": PUBLIC,  # anonymous staff answers: the token is the key
    "feedback.answer_pulse": PUBLIC,
    "feedback.poster": SIGNED_IN,  # managers: their own wards only (checked by the route)
    # reports (issue 6)
    "reports.index": {E, S},
    "reports.generate": {E, S},
    "reports.confirm_provisional": {E, S},
    "reports.monthly_pdf": {E, S},
    "reports.monthly_csv": {E, S},
    "reports.monthly_workbook": {E, S},
    "reports.pack_status": {E, S},
    "reports.pack_pdf": {E, S},
    "reports.walkabout_summary": SIGNED_IN,
    "dashboard.index": {E, S},
    "dashboard.chart": {E, S},
    # notifications (issue 7)
    "notifications.inbox": SIGNED_IN,
    "notifications.mark_read": SIGNED_IN,
    "notifications.preferences": SIGNED_IN,
    "notifications.outbox": {A},
    "notifications.outbox_message": {A},
}

ROLE_CASES = [None, E, M, S, A]
# Routes that end the poster's own session; tests/test_sessions.py covers who may use them.
SIGNS_OUT = ("auth.logout", "account.end_all_sessions")


@pytest.fixture
def world(app, factory):
    """One of everything a URL can point at, on a ward managed by the ward manager."""
    from walkabout.db import session_scope
    from walkabout.models import BoardPack, BoardPackStatus, Photo, WalkaboutSeries
    from walkabout.services.photos import process_upload

    from .photo_samples import png

    # Requested board packs wait for the scheduler instead of a thread outliving the test's database.
    app.config["REPORTS_RUNNER"] = "scheduler"
    users = {role: factory.user(role) for role in (E, M, S, A)}
    ward = factory.ward(managers=(users[M],))
    walkabout = factory.walkabout(ward, users[E])
    concern = factory.concern(walkabout)
    action = factory.action(concern, users[M])
    with session_scope(app) as session:
        photo = Photo(concern_id=concern.id, **process_upload(png()).fields)
        session.add(photo)
        session.flush()
        photo_id = photo.id
    with session_scope(app) as session:
        series = WalkaboutSeries(
            ward_id=ward.id,
            lead_id=users[E].id,
            rule="FREQ=MONTHLY;COUNT=2",
            first_start=walkabout.scheduled_start,
        )
        pack = BoardPack(month="2026-10", status=BoardPackStatus.READY, pdf=b"%PDF-1.7")
        session.add_all([series, pack])
        session.flush()
        series_id, pack_id = series.id, pack.id
    ids = {
        "user_id": users[M].id,
        "photo_id": photo_id,
        "ward_id": ward.id,
        "walkabout_id": walkabout.id,
        "concern_id": concern.id,
        "action_id": action.id,
        "site_id": ward.site_id,
        "id": walkabout.id,
        "series_id": series_id,
        "pack_id": pack_id,
        "month": "2026-10",
        "token": "not-a-real-token",
        "name": "walkabouts",
    }
    return users, ids


def url_for_rule(rule, ids: dict) -> str:
    def replace(match):
        name = match.group(2)
        return str(ids.get(name, ids.get("id")))

    return re.sub(r"<(?:(\w+):)?(\w+)>", replace, rule.rule)


def test_every_route_has_a_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = endpoints - set(RULES)
    stale = set(RULES) - endpoints
    assert not missing, f"routes without an authorization rule: {sorted(missing)}"
    assert not stale, f"rules for routes that no longer exist: {sorted(stale)}"


@pytest.mark.parametrize("role", ROLE_CASES, ids=lambda r: r.value if r else "signed-out")
def test_each_route_answers_each_role_as_expected(app, world, role):
    users, ids = world
    client = app.test_client()
    if role is not None:
        login(client, users[role].email)
    token = csrf_from(client.get("/login").get_data(as_text=True)) if role is None else None
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in SIGNS_OUT:
            continue
        allowed = RULES[rule.endpoint]
        url = url_for_rule(rule, ids)
        method = "GET" if "GET" in rule.methods else "POST"
        if method == "POST":
            if token is None:
                page = (
                    client.get("/").get_data(as_text=True)
                    if role
                    else client.get("/login").get_data(as_text=True)
                )
                token = csrf_from(page)
            response = client.post(url, data={"csrf_token": token})
        else:
            response = client.get(url)
        status = response.status_code
        location = response.headers.get("Location", "")
        if allowed == PUBLIC:
            ok = status < 500 and status != 403
        elif role is None:
            ok = status == 302 and location.startswith("/login")
        elif role in allowed:
            ok = status < 500 and status != 403 and not location.startswith("/login")
        else:
            ok = status in (403, 404)
        if not ok:
            failures.append(
                f"{method} {url} ({rule.endpoint}) as {role or 'signed out'}: {status} {location}"
            )
    assert not failures, "\n".join(failures)
