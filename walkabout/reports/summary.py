"""The ward's one-page follow-up summary of a completed walkabout (built in the request)."""

from flask import current_app
from sqlmodel import Session

from ..db_types import utcnow
from ..services import branding
from ..services.reports import FollowUp, photo_thumbnail
from ..timeutil import local_today
from .boardpack import render_document
from .pdf import LockedFetcher, render_pdf

MAX_THUMBNAILS_PER_CONCERN = 3


def summary_pdf(session: Session, follow_up: FollowUp) -> bytes:
    html = render_document(
        "pdf/summary.html",
        {
            "f": follow_up,
            "w": follow_up.walkabout,
            "today": local_today(),
            "generated_at": utcnow(),
            "trust_name": branding.brand(session, current_app.config["TRUST_NAME"]).name,
            "trust_logo_src": branding.logo_data_uri(session),
            "max_thumbs": MAX_THUMBNAILS_PER_CONCERN,
        },
    )
    fetcher = LockedFetcher(
        photo_loader=lambda ident: photo_thumbnail(session, ident), allowed_photo_ids=follow_up.photo_ids
    )
    return render_pdf(html, fetcher)
