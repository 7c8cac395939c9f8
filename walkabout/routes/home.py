from datetime import timedelta

from flask import Blueprint, render_template

from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..models import Role
from ..services import capture, follow_up, home
from ..timeutil import local_today, trust_zone

bp = Blueprint("home", __name__)


@bp.get("/")
@signed_in
def index():
    today = local_today()
    session, user = get_session(), signed_in_user()
    last_month = today.replace(day=1) - timedelta(days=1)
    return render_template(
        "home/index.html",
        overview=home.overview(session, user, today, trust_zone()),
        follow_up=follow_up.home_follow_up(session, user, today),
        adhoc_wards=capture.adhoc_wards(session) if user.has_role(Role.EXECUTIVE) else None,
        today=today,
        last_month_label=f"{last_month:%B %Y}",
    )
