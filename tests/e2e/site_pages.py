"""Every HTML page of the app, once per role that sees different content there.

The accessibility tests (axe-core in Chromium, the Nu Html Checker) walk this
list. A GET route that is neither listed here nor exempted with its reason
fails `test_every_html_route_is_checked_or_exempt`, as a route without an
authorization rule fails the authorization matrix.
"""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from zoneinfo import ZoneInfo

from walkabout.models import Role, WalkaboutStatus

E, M, S, A = Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY, Role.ADMIN
SIGNED_OUT = None
ROLES = (SIGNED_OUT, E, M, S, A)

# endpoint -> (roles whose view is checked, the page's URL from the world's ids)
PAGES: dict[str, tuple[tuple, str]] = {
    "auth.login": ((SIGNED_OUT,), "/login"),
    "password_reset.request_link": ((SIGNED_OUT,), "/password-reset"),
    "password_reset.choose": ((SIGNED_OUT,), "/password-reset/{reset_token}"),
    "about.accessibility": ((SIGNED_OUT, E), "/accessibility"),
    "home.index": ((E, M, S, A), "/"),
    "account.password": ((E,), "/account/password"),
    "two_factor.manage": ((E,), "/account/two-factor"),
    "calendar.settings": ((E,), "/account/calendar"),
    "notifications.preferences": ((M,), "/account/notifications"),
    "notifications.inbox": ((M,), "/notifications"),
    "notifications.outbox": ((A,), "/admin/outbox"),
    "notifications.outbox_message": ((A,), "/admin/outbox/{outbox_name}"),
    "admin_users.index": ((A,), "/admin/users"),
    "admin_users.new": ((A,), "/admin/users/new"),
    "admin_users.edit": ((A,), "/admin/users/{manager_id}"),
    "admin_lists.index": ((A,), "/admin/lists"),
    "admin_lists.categories": ((A,), "/admin/lists/categories"),
    "admin_lists.script": ((A,), "/admin/lists/script"),
    "admin_lists.staff_roles": ((A,), "/admin/lists/staff-roles"),
    "admin_lists.pulse_statements": ((A,), "/admin/lists/pulse-statements"),
    "admin_trust.settings": ((A,), "/admin/trust"),
    "admin_audit.index": ((A, S), "/admin/audit"),
    "admin_places.sites": ((A,), "/admin/sites"),
    "report_settings.thresholds": ((A,), "/admin/report-thresholds"),
    "admin_places.edit_site": ((A,), "/admin/sites/{site_id}"),
    "admin_places.wards": ((A,), "/admin/wards"),
    "admin_places.new_ward": ((A,), "/admin/wards/new"),
    "admin_places.edit_ward": ((A,), "/admin/wards/{ward_id}"),
    "walkabouts.index": ((E, M), "/walkabouts"),
    "walkabouts.show": ((E, M), "/walkabouts/{planned_id}"),
    "walkabouts.new": ((E,), "/walkabouts/new"),
    "walkabouts.edit": ((E,), "/walkabouts/{planned_id}/edit"),
    "walkabouts.cancel": ((E,), "/walkabouts/{planned_id}/cancel"),
    "series.show": ((E,), "/walkabouts/series/{series_id}"),
    "series.rota": ((E,), "/walkabouts/rota"),
    "coverage.index": ((E, M), "/coverage"),
    "capture.capture_page": ((E,), "/walkabouts/{live_id}/capture"),
    "capture.edit_concern": ((E,), "/walkabouts/{live_id}/concerns/{concern_id}/edit"),
    "capture.readback": ((E,), "/walkabouts/{live_id}/readback"),
    "actions.index": ((E, M), "/actions"),
    "actions.show": ((E, M), "/actions/{action_id}"),
    "actions.assign": ((E,), "/concerns/{concern_id}/actions/new"),
    "feedback.index": ((E, M), "/feedback"),
    "feedback.ward": ((E, M), "/wards/{ward_id}/feedback"),
    "feedback.public": ((SIGNED_OUT,), "/you-said-we-did/{public_token}"),
    "feedback.write": ((E,), "/concerns/{done_concern_id}/feedback"),
    "reports.index": ((E, S), "/reports"),
    "reports.pack_status": ((S,), "/reports/packs/{pack_id}"),
    "reports.confirm_provisional": ((S,), "/reports/monthly/{this_month}/confirm"),
    "dashboard.index": ((E, S), "/dashboard"),
    "unsubscribe.confirm": ((SIGNED_OUT,), "/unsubscribe/{unsubscribe_token}"),
    "offline.offline_page": ((SIGNED_OUT, E), "/offline"),
}

# More than one view of a route: (name, roles, URL), checked as the pages above are.
MORE_PAGES: tuple[tuple, ...] = (
    ("walkabouts.show-completed", (E, M), "/walkabouts/{done_id}"),  # the follow-up list (issue 15)
)

# Error pages have no route of their own: a missing page, signed in and out; a forbidden one.
ERROR_PAGES: tuple[tuple, ...] = (
    ("not-found", (SIGNED_OUT, E), "/no/such/page"),
    ("forbidden", (M,), "/admin/users"),
)

# endpoint -> why it has no accessibility check of its own
EXEMPT: dict[str, str] = {
    "static": "stylesheets, scripts and icons, not pages",
    "health.healthz": "JSON for the load balancer",
    "about.trust_logo": "the trust's logo, in the header beside the trust's name (so its alt is empty)",
    "calendar.feed": "an iCalendar feed",
    "sso.start": "a redirect to the identity provider (404 unless single sign-on is configured)",
    "sso.callback": "a redirect after the identity provider's answer (its refusals render auth.login)",
    "two_factor.verify": "needs a sign-in waiting for its code: tests/e2e/test_sign_in_sso.py runs axe on it",
    "two_factor.setup": "needs a sign-in waiting for its code: tests/e2e/test_sign_in_sso.py runs axe on it",
    "walkabouts.ics": "an iCalendar file",
    "photos.full": "a JPEG, shown with its alt text on the pages that link it",
    "photos.thumbnail": "a JPEG, shown with its alt text on the pages that link it",
    "feedback.qr_code": "an SVG image, shown with its alt text on the ward's feedback page",
    "feedback.poster": "a PDF (tests/test_poster.py reads its text and renders it to PNG)",
    "dashboard.chart": "an SVG chart, an image on the dashboard (which is checked) with alt text",
    "reports.monthly_csv": "a CSV download",
    "admin_audit.export": "a CSV download",
    "reports.monthly_workbook": "an Excel download",
    "reports.monthly_pdf": "a PDF download (its layout is checked by the report tests)",
    "reports.pack_pdf": "a PDF download (its layout is checked by the report tests)",
    "reports.walkabout_summary": "a PDF download (its layout is checked by the report tests)",
    "offline.worker": "the service worker's script",
    "offline.manifest": "the web app manifest (JSON)",
    "offline.session_check": "JSON for the phone's offline sender",
}


def role_id(role) -> str:
    return role.value if role else "signed-out"


def build_world(app, factory) -> tuple[dict, dict]:
    """A small trust with one of everything a page shows; returns (users by role, URL ids)."""
    from walkabout.db import session_scope
    from walkabout.models import (
        BoardPack,
        BoardPackStatus,
        FeedbackUpdate,
        PasswordReset,
        WalkaboutSeries,
        Ward,
    )
    from walkabout.notify.backends import get_backend
    from walkabout.notify.unsubscribe import make_token
    from walkabout.services import feedback, recovery
    from walkabout.services import notification_kinds as kinds

    app.config["REPORTS_RUNNER"] = "scheduler"  # a requested pack waits; no thread outlives the test
    users = {
        E: factory.user(E, email="exec@example.org", name="Sarah Exec"),
        M: factory.user(M, email="manager@example.org", name="Mo Manager"),
        S: factory.user(S, email="secretary@example.org", name="Sam Secretary"),
        A: factory.user(A, email="admin@example.org", name="Ada Admin"),
    }
    factory.user(M, email="left@example.org", name="Lee Left", active=False)  # greyed out on /admin/users
    ward = factory.ward(name="Beech Ward", managers=(users[M],))
    planned = factory.walkabout(ward, users[E])
    live = factory.walkabout(ward, users[E], status=WalkaboutStatus.IN_PROGRESS)
    concern = factory.concern(live, text="The hoist sling is frayed", likelihood=4, consequence=4)
    factory.concern(live, text="Hand gel empty at the door", likelihood=2, consequence=2)
    action = factory.action(concern, users[M], description="Replace the frayed hoist sling")
    factory.photo(concern)
    now = datetime.now(UTC)
    done = factory.walkabout(
        ward,
        users[E],
        start=now - timedelta(days=20),
        status=WalkaboutStatus.COMPLETED,
        started_at=now - timedelta(days=20),
        completed_at=now - timedelta(days=20) + timedelta(minutes=50),
    )
    waiting = factory.concern(
        done, text="No bariatric commode", feedback_due_on=(now - timedelta(days=6)).date()
    )
    followed = factory.concern(
        done, text="Night lights broken", feedback_due_on=(now - timedelta(days=6)).date()
    )
    factory.action(followed, users[M], description="Replace the night lights")
    with app.app_context(), session_scope(app) as session:
        session.add(
            FeedbackUpdate(
                concern_id=followed.id, kind="final", text="New lights fitted", author_id=users[E].id
            )
        )
        series = WalkaboutSeries(
            ward_id=ward.id,
            lead_id=users[E].id,
            rule="FREQ=MONTHLY;COUNT=2",
            first_start=planned.scheduled_start,
        )
        pack = BoardPack(month="2026-10", status=BoardPackStatus.READY, pdf=b"%PDF-1.7")
        reset = PasswordReset(user_id=users[M].id)
        session.add_all([series, pack, reset])
        token = feedback.share(session, users[A], session.get(Ward, ward.id))
        session.flush()
        series_id, pack_id = series.id, pack.id
        reset_token = recovery.token_for(app.config["SECRET_KEY"], reset)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "walkabout@example.org", users[M].email, "New action"
    message["Date"] = formatdate()
    message.set_content("You have a new action: Replace the frayed hoist sling.")
    backend = get_backend(app)
    backend.send(message)
    ids = {
        "manager_id": users[M].id,
        "site_id": ward.site_id,
        "ward_id": ward.id,
        "planned_id": planned.id,
        "live_id": live.id,
        "concern_id": concern.id,
        "done_id": done.id,
        "done_concern_id": waiting.id,
        "action_id": action.id,
        "series_id": series_id,
        "pack_id": pack_id,
        "this_month": now.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m"),
        "public_token": token,
        "reset_token": reset_token,
        "unsubscribe_token": make_token(app.config, users[M].id, kinds.REMINDER_WARD),
        "outbox_name": backend.list()[0]["name"],
    }
    return users, ids


def pages_for(role, ids: dict) -> list[tuple[str, str]]:
    """(name, URL) of every page checked for `role`."""
    pages = [(endpoint, url.format(**ids)) for endpoint, (roles, url) in PAGES.items() if role in roles]
    pages += [(name, url.format(**ids)) for name, roles, url in MORE_PAGES if role in roles]
    pages += [(f"error-{name}", url) for name, roles, url in ERROR_PAGES if role in roles]
    return pages
