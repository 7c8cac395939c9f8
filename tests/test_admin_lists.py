"""Admin lists (issue 17): categories, the conversation script, staff roles and ward-pulse
statements. Add, rename, reorder, retire; what the capture form, the capture page, the
read-back page, old records, reports and the audit log then show."""

import html
import re

import pytest
from sqlmodel import func, select

from walkabout.db import session_scope
from walkabout.defaults import CATEGORIES, PULSE_STATEMENTS, STAFF_ROLES
from walkabout.models import (
    AuditEvent,
    Category,
    Concern,
    PromptKind,
    PromptQuestion,
    PulseStatement,
    Role,
    StaffRole,
    WalkaboutStatus,
)

from .conftest import csrf_token, login
from .report_data import seed_month
from .test_reports_pack import issue_pack, pdf_text

LIST_PAGE = {
    "categories": "/admin/lists/categories",
    "staff-roles": "/admin/lists/staff-roles",
    "pulse-statements": "/admin/lists/pulse-statements",
}


def page_for(kind: str) -> str:
    return LIST_PAGE.get(kind, "/admin/lists/script")


@pytest.fixture
def admin(factory):
    return factory.user(Role.ADMIN, name="Ada Admin")


@pytest.fixture
def admin_client(client, admin):
    login(client, admin.email)
    return client


def signed_in(app, user):
    """A new browser, signed in as `user`."""
    client = app.test_client()
    login(client, user.email)
    return client


def seen(client, kind: str) -> str:
    """The list's fingerprint as its page shows it now."""
    page = client.get(page_for(kind)).get_data(as_text=True)
    match = re.search(rf'name="list" value="{kind}"><input type="hidden" name="seen" value="(\w+)"', page)
    assert match, f"no {kind} forms on the page"
    return match.group(1)


def change(client, verb: str, kind: str, fingerprint: str | None = None, **fields):
    data = {"list": kind, "seen": fingerprint or seen(client, kind), **fields}
    data["csrf_token"] = csrf_token(client, page_for(kind))
    return client.post(f"/admin/lists/{verb}", data=data)


def entry_id(app, model, **where) -> int:
    with session_scope(app, write=False) as session:
        query = select(model.id)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.exec(query).one()


def names(app, model=Category, field="name", kind=None) -> list[str]:
    """Active entries in their order."""
    with session_scope(app, write=False) as session:
        query = select(getattr(model, field)).where(model.active).order_by(model.sort_order, model.id)
        if kind is not None:
            query = query.where(model.kind == kind)
        return list(session.exec(query))


def audit_count(app) -> int:
    with session_scope(app, write=False) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def capture_page(client, walkabout) -> str:
    return client.get(f"/walkabouts/{walkabout.id}/capture").get_data(as_text=True)


def test_the_defaults_are_listed_and_the_index_links_every_list(admin_client):
    index = admin_client.get("/admin/lists")
    assert index.status_code == 200
    text = index.get_data(as_text=True)
    for link in [*LIST_PAGE.values(), "/admin/lists/script", "/admin/trust", "/admin/audit"]:
        assert f'href="{link}"' in text
    categories = admin_client.get("/admin/lists/categories").get_data(as_text=True)
    assert all(html.escape(name) in categories for name in CATEGORIES)
    roles = admin_client.get("/admin/lists/staff-roles").get_data(as_text=True)
    assert all(html.escape(name) in roles for name in STAFF_ROLES)
    pulse = admin_client.get("/admin/lists/pulse-statements").get_data(as_text=True)
    assert all(html.escape(text) in pulse for text in PULSE_STATEMENTS)
    script = admin_client.get("/admin/lists/script").get_data(as_text=True)
    for title in ("Opening words", "Prompt questions", "Read-back words", "Closing words"):
        assert title in script


def test_a_new_category_is_offered_and_a_retired_one_is_not_but_stays_on_old_concerns(
    app, admin_client, factory
):
    executive = factory.user(Role.EXECUTIVE)
    ward = factory.ward()
    walkabout = factory.walkabout(ward, executive, status=WalkaboutStatus.IN_PROGRESS)
    old = factory.concern(walkabout, text="Scanner broken")  # category Equipment
    assert change(admin_client, "add", "categories", text="Estates").status_code == 303
    equipment = entry_id(app, Category, name="Equipment")
    assert change(admin_client, "active", "categories", entry=equipment, active="0").status_code == 303
    assert "Estates" in names(app) and "Equipment" not in names(app)

    admin_client = signed_in(app, executive)
    page = capture_page(admin_client, walkabout)
    form = page.split('id="capture-form"')[1]
    assert "<span>Estates</span>" in form and "<span>Equipment</span>" not in form
    assert "Equipment" in page.split('id="capture-form"')[0]  # the logged concern still shows it
    # Logging with the retired category is refused; editing the old concern keeps it.
    token = csrf_token(admin_client, f"/walkabouts/{walkabout.id}/capture")
    refused = admin_client.post(
        f"/walkabouts/{walkabout.id}/concerns",
        data={"csrf_token": token, "text": "New one", "kind": "concern", "category_id": str(equipment)},
    )
    assert refused.status_code == 400 and "Choose a category from the list." in refused.get_data(as_text=True)
    edit_url = f"/walkabouts/{walkabout.id}/concerns/{old.id}/edit"
    edit = admin_client.get(edit_url).get_data(as_text=True)
    assert re.search(rf'value="{equipment}" checked><span>Equipment \(retired\)</span>', edit)
    saved = admin_client.post(
        edit_url,
        data={
            "csrf_token": csrf_token(admin_client, edit_url),
            "text": "Scanner broken, both of them",
            "kind": "concern",
            "category_id": str(equipment),
            "likelihood": "3",
            "consequence": "3",
            "version": str(old.version),
        },
    )
    assert saved.status_code == 303
    with session_scope(app, write=False) as session:
        kept = session.get(Concern, old.id)
        assert kept.category_id == equipment and kept.text == "Scanner broken, both of them"


def test_a_retired_category_stays_in_last_months_pack_and_csv(app, admin_client, factory):
    month = seed_month(factory)
    equipment = entry_id(app, Category, name="Equipment")
    assert change(admin_client, "active", "categories", entry=equipment, active="0").status_code == 303
    pack = issue_pack(app, month.key, month.secretary)
    assert "Equipment" in [row["name"] for row in pack.figures["concerns"]["by_category"]]
    assert "Equipment" in pdf_text(pack.pdf)
    admin_client = signed_in(app, month.secretary)
    csv_text = admin_client.get(f"/reports/monthly/{month.key}.csv").get_data(as_text=True)
    assert ",Equipment," in csv_text


def test_the_last_active_category_cannot_be_retired(app, admin_client):
    ids = [entry_id(app, Category, name=name) for name in CATEGORIES]
    for ident in ids[:-1]:
        assert change(admin_client, "active", "categories", entry=ident, active="0").status_code == 303
    before = audit_count(app)
    refused = change(admin_client, "active", "categories", entry=ids[-1], active="0")
    assert refused.status_code == 400
    assert "Other is the last active category: add another before retiring it." in refused.get_data(
        as_text=True
    )
    assert names(app) == ["Other"] and audit_count(app) == before
    page = admin_client.get("/admin/lists/categories").get_data(as_text=True)
    assert 'aria-label="Retire' not in page.split("<h3>Retired</h3>")[0]  # no Retire button on the last one


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write the category name."),
        ("   ", "Write the category name."),
        ("equipment", "There is already a category called Equipment."),
        ("Bad\x00name", "The request contained a character that is not allowed (NUL)."),
        ("Bell\x07name", "Keep the words on one line"),
        ("Two\nlines", "Keep the words on one line"),
        ("Tab\there", "Keep the words on one line"),
        ("x" * 10_000, "Keep the category name under 80 characters (it has 10,000)."),
    ],
)
def test_bad_names_are_refused_with_a_message_and_nothing_changes(app, admin_client, text, message):
    before, audited = names(app), audit_count(app)
    staffing = entry_id(app, Category, name="Staffing")
    for verb, fields in (("add", {}), ("rename", {"entry": staffing})):
        response = change(admin_client, verb, "categories", text=text, **fields)
        assert response.status_code == 400, (verb, text)
        page = response.get_data(as_text=True)
        assert html.escape(message) in page, (verb, page[:2000])
        if text.strip() and len(text) < 100 and "\x00" not in text:
            assert html.escape(text) in page  # what was typed is kept in the form
    assert names(app) == before and audit_count(app) == audited


def test_renaming_and_reordering_are_audited_and_shown_in_order(app, admin_client, admin):
    staffing = entry_id(app, Category, name="Staffing")
    assert (
        change(admin_client, "rename", "categories", entry=staffing, text="Staffing levels").status_code
        == 303
    )
    assert change(admin_client, "move", "categories", entry=staffing, direction="down").status_code == 303
    assert names(app)[:2] == ["Equipment", "Staffing levels"]
    first = change(
        admin_client, "move", "categories", entry=entry_id(app, Category, name="Equipment"), direction="up"
    )
    assert first.status_code == 400 and "already first" in first.get_data(as_text=True)
    with session_scope(app, write=False) as session:
        events = session.exec(
            select(AuditEvent).where(AuditEvent.entity_type == "category", AuditEvent.entity_id == staffing)
        ).all()
    assert [(e.verb, e.actor_id) for e in events] == [("renamed", admin.id), ("moved", admin.id)]
    assert events[0].changes == {"name": ["Staffing", "Staffing levels"]}
    assert events[1].changes == {"position": [1, 2], "list": "categories"}
    log = admin_client.get(f"/admin/audit?type=category&record={staffing}").get_data(as_text=True)
    assert "Ada Admin" in log and "renamed" in log and "Staffing levels" in log and "moved" in log


def test_a_stale_reorder_from_a_second_admin_is_refused(app, factory, admin_client):
    other = factory.user(Role.ADMIN, name="Bea Admin")
    second = signed_in(app, other)
    shown = seen(second, "categories")  # both pages open on the same list
    staffing = entry_id(app, Category, name="Staffing")
    equipment = entry_id(app, Category, name="Equipment")
    assert change(admin_client, "move", "categories", entry=staffing, direction="down").status_code == 303
    after_first = names(app)
    audited = audit_count(app)
    stale = change(second, "move", "categories", shown, entry=equipment, direction="down")
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "This list changed while you were looking at it" in page
    assert names(app) == after_first and audit_count(app) == audited
    # The refused page shows the latest order, so trying again works.
    assert page.index("Equipment") < page.index("Staffing")
    assert change(second, "move", "categories", entry=equipment, direction="down").status_code == 303


def test_a_double_submitted_add_creates_one_entry(app, admin_client):
    shown = seen(admin_client, "categories")
    assert change(admin_client, "add", "categories", shown, text="Estates").status_code == 303
    assert change(admin_client, "add", "categories", shown, text="Estates").status_code == 409
    assert names(app).count("Estates") == 1


def test_wrong_ids_and_unknown_lists_are_clear_4xx(app, admin_client):
    assert change(admin_client, "rename", "categories", entry="999999", text="X").status_code == 404
    assert change(admin_client, "rename", "categories", entry="²", text="X").status_code == 404
    role = entry_id(app, StaffRole, name="Porter")  # an id of another list
    assert change(admin_client, "active", "categories", entry=role, active="0").status_code in (303, 404)
    response = admin_client.post(
        "/admin/lists/add",
        data={"list": "nope", "text": "X", "csrf_token": csrf_token(admin_client, "/admin/lists")},
    )
    assert response.status_code == 400 and "Choose one of the lists." in response.get_data(as_text=True)


def test_the_script_edits_reach_the_capture_and_read_back_pages(app, admin_client, factory):
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    question = "What would you fix first if you were the chief executive?"
    assert change(admin_client, "add", "script-question", text=question).status_code == 303
    added = entry_id(app, PromptQuestion, text=question)
    for _ in range(4):
        assert change(admin_client, "move", "script-question", entry=added, direction="up").status_code == 303
    readback = entry_id(app, PromptQuestion, kind=PromptKind.READBACK)
    words = "Here is what we heard;\r\nstop us if we got it wrong."
    assert change(admin_client, "rename", "script-readback", entry=readback, text=words).status_code == 303
    opening = entry_id(app, PromptQuestion, kind=PromptKind.OPENING)
    assert change(admin_client, "active", "script-opening", entry=opening, active="0").status_code == 303
    questions = names(app, PromptQuestion, "text", PromptKind.QUESTION)
    assert questions[1] == question  # moved up four places from the end, of six

    admin_client = signed_in(app, executive)
    page = capture_page(admin_client, walkabout)
    script = page.split('class="nhsuk-details app-card script"')[1].split("</details>")[0]
    listed = re.findall(r"<li>(.*?)</li>", script)
    assert [html.unescape(q) for q in listed] == questions
    assert "Opening." not in script  # retired
    assert "Read back.</b> Here is what we heard; stop us if we got it wrong." in script
    back = admin_client.get(f"/walkabouts/{walkabout.id}/readback").get_data(as_text=True)
    assert "Here is what we heard; stop us if we got it wrong." in back


def test_staff_role_edits_reach_raised_by_and_who_took_part(app, admin_client, factory):
    executive = factory.user(Role.EXECUTIVE)
    walkabout = factory.walkabout(factory.ward(), executive, status=WalkaboutStatus.IN_PROGRESS)
    factory.concern(walkabout, text="Porters short at night", raised_by_role="Porter")
    assert change(admin_client, "add", "staff-roles", text="Chaplain").status_code == 303
    porter = entry_id(app, StaffRole, name="Porter")
    assert change(admin_client, "active", "staff-roles", entry=porter, active="0").status_code == 303

    admin_client = signed_in(app, executive)
    page = capture_page(admin_client, walkabout)
    datalist = page.split('<datalist id="staff-roles">')[1].split("</datalist>")[0]
    assert '<option value="Chaplain">' in datalist and "Porter" not in datalist
    assert (
        "raised by Porter" in page or "Porter" in page.split('id="capture-form"')[0]
    )  # the old concern keeps it
    readback_url = f"/walkabouts/{walkabout.id}/readback"
    readback = admin_client.get(readback_url).get_data(as_text=True)
    chaplain = entry_id(app, StaffRole, name="Chaplain")
    assert f'name="staff_{chaplain}"' in readback and f'name="staff_{porter}"' not in readback
    done = admin_client.post(
        f"/walkabouts/{walkabout.id}/complete",
        data={
            "csrf_token": csrf_token(admin_client, readback_url),
            f"staff_{chaplain}": "2",
            "feedback_given": "no",
            "version": str(walkabout.version),
        },
    )
    assert done.status_code == 303
    with session_scope(app, write=False) as session:
        assert session.get(type(walkabout), walkabout.id).staff_participation == {"Chaplain": 2}


def test_pulse_statements_can_be_added_renamed_reordered_retired_and_restored(app, admin_client):
    assert names(app, PulseStatement, "text") == PULSE_STATEMENTS
    statement = "I know who to tell when something goes wrong"
    assert change(admin_client, "add", "pulse-statements", text=statement).status_code == 303
    ident = entry_id(app, PulseStatement, text=statement)
    assert change(admin_client, "move", "pulse-statements", entry=ident, direction="up").status_code == 303
    assert (
        change(admin_client, "rename", "pulse-statements", entry=ident, text=statement + ".").status_code
        == 303
    )
    assert change(admin_client, "active", "pulse-statements", entry=ident, active="0").status_code == 303
    assert statement + "." not in names(app, PulseStatement, "text")
    page = admin_client.get("/admin/lists/pulse-statements").get_data(as_text=True)
    assert html.escape(statement + ".") in page.split("<h3>Retired</h3>")[1]
    assert change(admin_client, "active", "pulse-statements", entry=ident, active="1").status_code == 303
    assert names(app, PulseStatement, "text")[-1] == statement + "."  # restored at the end
    with session_scope(app, write=False) as session:
        verbs = session.exec(
            select(AuditEvent.verb).where(AuditEvent.entity_type == "pulse_statement").order_by(AuditEvent.id)
        ).all()
    assert verbs == ["created", "moved", "renamed", "retired", "restored"]


def test_only_administrators_change_the_lists(app, factory):
    for role in (Role.EXECUTIVE, Role.WARD_MANAGER, Role.BOARD_SECRETARY):
        client = signed_in(app, factory.user(role))
        assert client.get("/admin/lists/categories").status_code == 403
        response = client.post(
            "/admin/lists/add",
            data={"list": "categories", "text": "X", "csrf_token": csrf_token(client, "/")},
        )
        assert response.status_code == 403
    assert "X" not in names(app)
