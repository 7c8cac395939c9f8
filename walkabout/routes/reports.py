"""Reports: follow-up summary PDF, monthly board pack (built in the background), CSV, archive."""

from datetime import date

from flask import Blueprint, current_app, make_response, redirect, render_template, url_for

from ..auth import any_role, executives_and_secretaries, signed_in_user
from ..db import get_session
from ..errors import render_error
from ..forms.reports import GeneratePackForm
from ..models import BoardPackStatus
from ..periods import BadMonth, Period, parse_month
from ..reports import csv_export, runner, workbook
from ..reports.summary import summary_pdf
from ..services import Conflict, NotFound
from ..services import reports as service
from ..timeutil import local_today, trust_zone
from ..urls import arg_int, ascii_int, wants_fragment

bp = Blueprint("reports", __name__)


@bp.app_template_filter("month_label")
def month_label(month: str) -> str:
    """ "2026-03" -> "March 2026"."""
    year, number = month.split("-")
    return date(int(year), int(number), 1).strftime("%B %Y")


def _period(month: str) -> Period:
    return parse_month(month, local_today(), trust_zone())


def _month_error(error: BadMonth | NotFound):
    """A month that cannot be read (400), has not started or has nothing to report (404)."""
    status = 404 if isinstance(error, NotFound) or "has not started" in str(error) else 400
    return render_error(status, str(error))


def _reportable_period(month: str) -> Period:
    """The month's period, with something to report; BadMonth or NotFound (for _month_error)."""
    period = _period(month)
    service.check_reportable(get_session(), period)
    return period


def _pdf_response(data: bytes, filename: str):
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/walkabouts/<int:walkabout_id>/summary.pdf")
@any_role
def walkabout_summary(walkabout_id: int):
    session = get_session()
    try:
        follow_up = service.follow_up(session, signed_in_user(), walkabout_id)
    except NotFound as error:
        return render_error(404, str(error))
    except Conflict as error:
        return render_template("reports/not_ready.html", message=str(error), walkabout_id=walkabout_id), 409
    walkabout = follow_up.walkabout
    filename = f"walkabout-{walkabout.id}-{walkabout.scheduled_start.astimezone(trust_zone()):%Y-%m-%d}.pdf"
    return _pdf_response(summary_pdf(session, follow_up), filename)


@bp.get("/reports")
@executives_and_secretaries
def index():
    session = get_session()
    months = service.months_with_data(session, trust_zone(), local_today())
    packs = service.archive(session)
    return render_template(
        "reports/index.html",
        months=months,
        packs=packs,
        names=service.requesters(session, packs),
        form=GeneratePackForm(),
        current_month=local_today().strftime("%Y-%m"),
    )


@bp.get("/reports/monthly/<month>.pdf")
@executives_and_secretaries
def monthly_pdf(month: str):
    try:
        period = _period(month)
        version = arg_int("version", low=0)
        pack = service.latest_ready_pack(get_session(), period.month_key, version)
    except BadMonth as error:
        return _month_error(error)
    except NotFound as error:
        return render_template(
            "reports/no_pack.html",
            message=str(error),
            month=month,
            form=GeneratePackForm(),
            provisional=service.is_provisional(period),
        ), 404
    return _pdf_response(pack.pdf, f"board-pack-{pack.month}-v{pack.version}.pdf")


def _month_download(month: str, build, content_type: str, extension: str):
    """The month's data as a download (CSV or workbook), or a clear message for a month it cannot cover."""
    try:
        period = _reportable_period(month)
    except (BadMonth, NotFound) as error:
        return _month_error(error)
    response = make_response(build(get_session(), period))
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = (
        f'attachment; filename="walkabouts-{period.month_key}.{extension}"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/reports/monthly/<month>.csv")
@executives_and_secretaries
def monthly_csv(month: str):
    return _month_download(month, csv_export.month_csv, "text/csv; charset=utf-8", "csv")


@bp.get("/reports/monthly/<month>.xlsx")
@executives_and_secretaries
def monthly_workbook(month: str):
    return _month_download(
        month,
        workbook.month_workbook,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    )


def _confirm_page(period: Period, status: int = 200):
    """The confirm step before a provisional pack (the page, or its fragment for htmx)."""
    session = get_session()
    newest = service.newest_pack(session, period.month_key)
    form = GeneratePackForm(
        formdata=None, data={"confirmed": "yes", "seen_version": newest.version if newest else 0}
    )
    template = "reports/_confirm_provisional.html" if wants_fragment() else "reports/confirm_provisional.html"
    return render_template(template, period=period, form=form, newest=newest), status


@bp.get("/reports/monthly/<month>/confirm")
@executives_and_secretaries
def confirm_provisional(month: str):
    """Ask before generating a pack for a month that is not over (a finished month needs no asking)."""
    try:
        period = _reportable_period(month)
    except (BadMonth, NotFound) as error:
        return _month_error(error)
    if not service.is_provisional(period):
        return redirect(url_for("reports.index"), 303)
    return _confirm_page(period)


@bp.post("/reports/monthly/<month>/packs")
@executives_and_secretaries
def generate(month: str):
    form = GeneratePackForm()  # CSRF is checked for every POST by CSRFProtect
    try:
        period = _period(month)
    except BadMonth as error:
        return _month_error(error)
    seen = form.seen_version.data or None
    seen_version = ascii_int(seen, low=0)
    if seen is not None and seen_version is None:
        return render_error(400, "The form was changed. Go back to Reports and try again.")
    session = get_session()
    if service.is_provisional(period) and form.confirmed.data != "yes":
        try:
            service.check_reportable(session, period)
        except NotFound as error:
            return render_error(404, str(error))
        if wants_fragment():
            return _confirm_page(period)
        return redirect(url_for("reports.confirm_provisional", month=period.month_key), 303)
    try:
        pack, created = service.request_board_pack(session, signed_in_user(), period, seen_version)
    except NotFound as error:
        return render_error(404, str(error))
    session.commit()
    if created:
        runner.start_generation(pack.id)
    if wants_fragment():
        return render_template("reports/_pack_status.html", pack=pack)
    return redirect(url_for("reports.pack_status", pack_id=pack.id), 303)


@bp.get("/reports/packs/<int:pack_id>")
@executives_and_secretaries
def pack_status(pack_id: int):
    try:
        pack = service.get_pack(get_session(), pack_id)
    except NotFound as error:
        return render_error(404, str(error))
    template = "reports/_pack_status.html" if wants_fragment() else "reports/pack.html"
    return render_template(template, pack=pack, stalled=service.is_stalled(pack))


@bp.get("/reports/packs/<int:pack_id>.pdf")
@executives_and_secretaries
def pack_pdf(pack_id: int):
    try:
        pack = service.get_pack(get_session(), pack_id, with_pdf=True)
    except NotFound as error:
        return render_error(404, str(error))
    if pack.status != BoardPackStatus.READY:
        return render_error(404, "That board pack is not ready.")
    return _pdf_response(pack.pdf, f"board-pack-{pack.month}-v{pack.version}.pdf")


@bp.cli.command("build-pending")
def build_pending() -> None:
    """Build every pending board pack now (what the scheduler process runs)."""
    import click

    built = runner.run_pending_board_packs(current_app._get_current_object())
    click.echo(f"Built {built} board pack(s).")
