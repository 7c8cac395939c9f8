"""The ward's A4 poster for the staff room (issue 18): the "You said, we did" page's QR code,
the three latest fixed items and the invitation to the ward pulse."""

import base64

from flask import current_app
from sqlmodel import Session

from ..db_types import utcnow
from ..services import branding
from ..services.feedback import PublicPage
from .boardpack import render_document
from .pdf import render_pdf

FIXED_ON_POSTER = 3


def poster_pdf(session: Session, page: PublicPage, url: str, qr_svg: bytes, has_pulse: bool) -> bytes:
    # The page lists the newest first within each status (priorities first of all).
    fixed = [item for item in page.items if item.status == "Done"]
    html = render_document(
        "pdf/poster.html",
        {
            "page": page,
            "fixed": fixed[:FIXED_ON_POSTER],
            "url": url,
            "qr_src": "data:image/svg+xml;base64," + base64.b64encode(qr_svg).decode("ascii"),
            "has_pulse": has_pulse,
            "generated_at": utcnow(),
            "trust_name": branding.brand(session, current_app.config["TRUST_NAME"]).name,
            "trust_logo_src": branding.logo_data_uri(session),
        },
    )
    return render_pdf(html)
