"""The audit log as CSV: the entries the filters match, newest first, Excel-safe like the
month's CSV (UTF-8 with a byte order mark, formula-looking cells neutralised)."""

import csv
import io
import json

from sqlmodel import Session

from ..services.audit_log import AuditFilters, every_entry
from ..timeutil import to_local
from .csv_export import neutralise

COLUMNS = ["id", "when", "when_utc", "person_id", "person", "record_type", "record_id", "verb", "changes"]


def audit_csv(session: Session, filters: AuditFilters) -> bytes:
    """The matching entries as UTF-8-with-BOM CSV bytes (read from the database in batches)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow(COLUMNS)
    for event, name in every_entry(session, filters):
        writer.writerow(
            neutralise(value)
            for value in (
                event.id,
                to_local(event.created_at).isoformat(timespec="seconds"),
                event.created_at.isoformat(timespec="seconds"),
                event.actor_id,
                name or ("" if event.actor_id else "system"),
                event.entity_type,
                event.entity_id,
                event.verb,
                json.dumps(event.changes, ensure_ascii=False, sort_keys=True) if event.changes else "",
            )
        )
    return out.getvalue().encode()
