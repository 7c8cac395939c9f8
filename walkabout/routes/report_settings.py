"""Admin: the RAG thresholds of the board pack's headline figures."""

from flask import Blueprint, render_template, request, url_for

from ..auth import admins, signed_in_user
from ..db import get_session
from ..forms.rag import RagThresholdsForm
from ..services import ServiceError, rag
from .helpers import commit_and_redirect

bp = Blueprint("report_settings", __name__, url_prefix="/admin")


@bp.route("/report-thresholds", methods=["GET", "POST"])
@admins
def thresholds():
    session = get_session()
    form = RagThresholdsForm()
    error, status = None, 200
    if request.method == "GET":
        for key, (green, amber) in rag.thresholds(session).items():
            form[f"{key}_green"].data, form[f"{key}_amber"].data = str(green), str(amber)
    elif form.validate_on_submit():
        try:
            return commit_and_redirect(
                lambda: rag.save(session, signed_in_user(), form.values()),
                "Saved the thresholds. Packs generated from now on use them.",
                url_for("report_settings.thresholds"),
            )
        except ServiceError as refused:
            error, status = str(refused), 400
    else:
        error, status = "The form expired. Please try again.", 400
    return render_template(
        "admin/report_thresholds.html", form=form, figures=rag.FIGURES, error=error
    ), status
