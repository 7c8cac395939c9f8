"""The lists administrators edit: categories, the conversation script (opening words,
prompt questions, read-back words, closing words), staff roles and ward-pulse statements.

Entries are never deleted. A retired entry is no longer offered for new records but stays
on the records that used it (and so in reports for the months it was used); the last
active category cannot be retired. Every change is audited. Each change carries the
list's fingerprint as the administrator saw it: when someone else changed the list in
the meantime (two administrators reordering at once), the change is refused, not merged.
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from .. import rules
from ..models import Category, PromptKind, PromptQuestion, PulseStatement, StaffRole, TrustBranding, User
from . import Conflict, NotFound, ServiceError, audit

STALE_LIST = (
    "This list changed while you were looking at it (another administrator may be editing it). "
    "It now shows the latest: make your change again."
)


@dataclass(frozen=True)
class ListKind:
    """One admin-editable list: its table, the column holding the words and how they are checked."""

    slug: str  # in the address: /admin/lists/<slug>/...
    title: str
    noun: str  # "category", for messages
    model: type[SQLModel]
    field: str  # "name" or "text"
    rule: rules.TextRule
    prompt_kind: PromptKind | None = None
    keep_one: bool = False  # the last active entry cannot be retired
    paragraph: bool = False  # typed in a text area (line breaks become spaces)
    hint: str = ""


CATEGORIES = ListKind(
    "categories",
    "Categories",
    "category",
    Category,
    "name",
    rules.CATEGORY_NAME,
    keep_one=True,
    hint="The contributing-factor categories offered for each concern.",
)
STAFF_ROLES = ListKind(
    "staff-roles",
    "Staff roles",
    "role",
    StaffRole,
    "name",
    rules.STAFF_ROLE_NAME,
    hint='Offered for "raised by" on the capture form and for who took part when completing a walkabout.',
)
PULSE_STATEMENTS = ListKind(
    "pulse-statements",
    "Ward pulse statements",
    "statement",
    PulseStatement,
    "text",
    rules.PULSE_STATEMENT,
    hint="Statements ward staff are asked to rate in the staff pulse.",
)


def _script(kind: PromptKind, title: str, noun: str, hint: str) -> ListKind:
    return ListKind(
        f"script-{kind.value}",
        title,
        noun,
        PromptQuestion,
        "text",
        rules.SCRIPT_TEXT,
        prompt_kind=kind,
        paragraph=True,
        hint=hint,
    )


SCRIPT = (
    _script(PromptKind.OPENING, "Opening words", "opening", "Said first, to set the tone."),
    _script(PromptKind.QUESTION, "Prompt questions", "question", "Asked in this order."),
    _script(PromptKind.READBACK, "Read-back words", "read-back", "Said before reading back what was heard."),
    _script(PromptKind.CLOSING, "Closing words", "closing", "Said last."),
)
KINDS = {kind.slug: kind for kind in (CATEGORIES, *SCRIPT, STAFF_ROLES, PULSE_STATEMENTS)}

# The admin pages, each showing one or more lists.
PAGES = {
    "categories": ("Categories", (CATEGORIES,)),
    "script": ("Conversation script", SCRIPT),
    "staff-roles": ("Staff roles", (STAFF_ROLES,)),
    "pulse-statements": ("Ward pulse statements", (PULSE_STATEMENTS,)),
}


def page_of(kind: ListKind) -> str:
    return next(slug for slug, (_title, kinds) in PAGES.items() if kind in kinds)


def text_of(kind: ListKind, entry) -> str:
    return getattr(entry, kind.field)


def entries(session: Session, kind: ListKind, active_only: bool = False, lock: bool = False) -> list:
    """The list's entries: active ones in their order, then the retired ones."""
    model = kind.model
    query = select(model).order_by(col(model.active).desc(), model.sort_order, model.id)
    if kind.prompt_kind is not None:
        query = query.where(model.kind == kind.prompt_kind)
    if active_only:
        query = query.where(model.active)
    if lock:
        query = query.with_for_update()
    return list(session.exec(query).all())


def active_texts(session: Session, kind: ListKind) -> list[str]:
    return [text_of(kind, entry) for entry in entries(session, kind, active_only=True)]


def fingerprint(kind: ListKind, rows: list) -> str:
    """A short digest of the list as shown (ids, words, order, retired or not)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.id}\x1f{text_of(kind, row)}\x1f{row.active}\x1f{row.sort_order}\x1e".encode())
    return digest.hexdigest()[:20]


def add(session: Session, actor: User, kind: ListKind, text: str, seen: str | None):
    """Add an entry at the end of the active ones."""
    rows = _locked(session, kind, seen)
    text = _checked_text(kind, rows, text)
    values = {kind.field: text, "sort_order": _next_order(rows), "active": True}
    if kind.prompt_kind is not None:
        values["kind"] = kind.prompt_kind
    entry = kind.model(**values)
    session.add(entry)
    _flush(session)
    audit.record(session, actor, entry, "created", {kind.field: text, "list": kind.slug})
    return entry


def rename(session: Session, actor: User, kind: ListKind, entry_id: int, text: str, seen: str | None):
    rows = _locked(session, kind, seen)
    entry = _entry(kind, rows, entry_id)
    text = _checked_text(kind, rows, text, entry)
    changes = audit.diff(entry, {kind.field: text})
    if changes:
        _flush(session)
        audit.record(session, actor, entry, "renamed", changes)
    return entry


def move(session: Session, actor: User, kind: ListKind, entry_id: int, direction: str, seen: str | None):
    """Move an active entry one place up or down among the active ones."""
    rows = _locked(session, kind, seen)
    entry = _entry(kind, rows, entry_id)
    active = [row for row in rows if row.active]
    if entry not in active:
        raise ServiceError(f"Restore this {kind.noun} before moving it.")
    if direction not in ("up", "down"):
        raise ServiceError("Choose up or down.")
    old = active.index(entry)
    new = old - 1 if direction == "up" else old + 1
    if not 0 <= new < len(active):
        raise ServiceError(f"This {kind.noun} is already {'first' if direction == 'up' else 'last'}.")
    active[old], active[new] = active[new], active[old]
    for position, row in enumerate(active):
        row.sort_order = position
    _flush(session)
    audit.record(session, actor, entry, "moved", {"position": [old + 1, new + 1], "list": kind.slug})
    return entry


def set_active(session: Session, actor: User, kind: ListKind, entry_id: int, active: bool, seen: str | None):
    """Retire an entry (no longer offered; kept on old records) or restore it at the end."""
    rows = _locked(session, kind, seen)
    entry = _entry(kind, rows, entry_id)
    if entry.active == active:
        return entry
    if not active and kind.keep_one and sum(1 for row in rows if row.active) <= 1:
        raise ServiceError(
            f"{text_of(kind, entry)} is the last active {kind.noun}: add another before retiring it."
        )
    entry.active = active
    if active:
        entry.sort_order = _next_order(rows)
    _flush(session)
    audit.record(session, actor, entry, "restored" if active else "retired", {"active": [not active, active]})
    return entry


def _locked(session: Session, kind: ListKind, seen: str | None) -> list:
    """The list's rows, read under the admin-lists lock, if they are still what the admin saw."""
    # One row every list change locks: on PostgreSQL, two administrators' changes (even two
    # additions to an empty list) take turns; SQLite's BEGIN IMMEDIATE already serialises them.
    session.exec(select(TrustBranding.id).where(TrustBranding.id == 1).with_for_update()).first()
    rows = entries(session, kind, lock=True)
    if not seen or seen != fingerprint(kind, rows):
        raise Conflict(STALE_LIST)
    return rows


def _entry(kind: ListKind, rows: list, entry_id: int):
    entry = next((row for row in rows if row.id == entry_id), None)
    if entry is None:
        raise NotFound(f"That {kind.noun} does not exist.")
    return entry


def normalised(kind: ListKind, text: str | None) -> str:
    text = (text or "").strip()
    if kind.paragraph:
        text = " ".join(text.split())  # a paragraph: line breaks typed in the text area become spaces
    return text


def _checked_text(kind: ListKind, rows: list, text: str | None, entry=None) -> str:
    text = normalised(kind, text)
    if problem := kind.rule.problem(text):
        raise ServiceError(problem)
    clash = next((row for row in rows if text_of(kind, row).casefold() == text.casefold()), None)
    if clash is not None and clash is not entry:
        retired = "" if clash.active else " (retired: restore it instead)"
        raise ServiceError(f"There is already a {kind.noun} called {text_of(kind, clash)}{retired}.")
    return text


def _next_order(rows: list) -> int:
    return max((row.sort_order for row in rows), default=-1) + 1


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as error:  # a twin with the same name committed first
        session.rollback()
        raise Conflict(STALE_LIST) from error
