"""Admin: the lists (categories, conversation script, staff roles, ward-pulse statements).

Each page shows its lists with a form per change; every change posts the list's
fingerprint, so a change made on a stale page (another administrator was quicker) is
refused and the page shows the latest."""

from flask import Blueprint, render_template, url_for

from ..auth import admins, signed_in_user
from ..db import get_session
from ..errors import render_error
from ..forms.admin_lists import ListChangeForm
from ..services import Conflict, NotFound, ServiceError, lists
from .helpers import commit_and_redirect

bp = Blueprint("admin_lists", __name__, url_prefix="/admin/lists")


@bp.get("")
@admins
def index():
    session = get_session()
    counts = {
        slug: [(kind, len(lists.entries(session, kind, active_only=True))) for kind in kinds]
        for slug, (_title, kinds) in lists.PAGES.items()
    }
    return render_template("admin/lists.html", pages=lists.PAGES, counts=counts)


def render_page(slug: str, failed: dict | None = None, status: int = 200):
    """The list page; `failed` keeps what was typed beside the message when a change was refused."""
    session = get_session()
    title, kinds = lists.PAGES[slug]
    sections = []
    for kind in kinds:
        rows = lists.entries(session, kind)
        sections.append({"kind": kind, "rows": rows, "seen": lists.fingerprint(kind, rows)})
    return render_template(
        "admin/list_page.html",
        slug=slug,
        title=title,
        sections=sections,
        failed=failed or {},
        form=ListChangeForm(formdata=None),
    ), status


def _page_view(slug: str):
    @admins
    def view():
        return render_page(slug)

    view.__name__ = slug.replace("-", "_")
    view.__doc__ = f"The {lists.PAGES[slug][0].lower()} page."
    return view


for _slug in lists.PAGES:
    bp.add_url_rule(f"/{_slug}", view_func=_page_view(_slug), methods=["GET"])


def _change(verb: str):
    """Run one change posted by a ListChangeForm; refusals re-render the page with the message."""
    form = ListChangeForm()
    kind = lists.KINDS.get(form.list.data or "")
    if kind is None:
        return render_error(400, "Choose one of the lists.")
    slug = lists.page_of(kind)
    failed = {"list": kind.slug, "entry": form.entry_id, "text": form.text.data or "", "verb": verb}
    if not form.validate_on_submit():
        return render_page(slug, {**failed, "message": "The form had expired. Try again."}, 400)
    if verb in ("add", "rename") and (problem := form.text_problem(kind.paragraph)):
        return render_page(slug, {**failed, "message": problem}, 400)
    session = get_session()
    actor, seen, entry_id = signed_in_user(), form.seen.data, form.entry_id

    def change():
        if verb == "add":
            return lists.add(session, actor, kind, form.text.data, seen)
        if entry_id is None:
            raise NotFound(f"That {kind.noun} does not exist.")
        if verb == "rename":
            return lists.rename(session, actor, kind, entry_id, form.text.data, seen)
        if verb == "move":
            return lists.move(session, actor, kind, entry_id, form.direction.data or "", seen)
        if form.active.data not in ("0", "1"):
            raise ServiceError(f"Choose whether to retire or restore the {kind.noun}.")
        return lists.set_active(session, actor, kind, entry_id, form.active.data == "1", seen)

    def done(entry) -> str:
        text = lists.text_of(kind, entry)
        short = text if len(text) <= 60 else text[:57] + "..."
        if verb == "active":
            return f"{short}: {'restored' if entry.active else 'retired (kept on the records that use it)'}."
        return {"add": f"Added {short}.", "rename": f"Saved {short}.", "move": f"Moved {short}."}[verb]

    try:
        return commit_and_redirect(
            change, done, url_for(f"admin_lists.{slug.replace('-', '_')}", _anchor=kind.slug)
        )
    except ServiceError as error:
        status = 409 if isinstance(error, Conflict) else 404 if isinstance(error, NotFound) else 400
        return render_page(slug, {**failed, "message": str(error)}, status)


@bp.post("/add")
@admins
def add():
    return _change("add")


@bp.post("/rename")
@admins
def rename():
    return _change("rename")


@bp.post("/move")
@admins
def move():
    return _change("move")


@bp.post("/active")
@admins
def set_active():
    """Retire (active=0) or restore (active=1) an entry."""
    return _change("active")
