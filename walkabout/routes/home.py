from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, render_template
from markupsafe import Markup

from ..auth import signed_in, signed_in_user
from ..db import get_session
from ..models import Role
from ..services import capture, data_version, home
from ..templating import options
from ..timeutil import local_today, trust_zone
from .helpers import kept_fragment

bp = Blueprint("home", __name__)


@bp.get("/")
@signed_in
def index():
    today = local_today()
    session, user = get_session(), signed_in_user()
    last_month = today.replace(day=1) - timedelta(days=1)
    data = home.home_data(session, user, today, trust_zone())
    return render_template(
        "home/index.html",
        overview=data.overview,
        sections=sections(session, user, today, data),
        adhoc_options=adhoc_options(session) if user.has_role(Role.EXECUTIVE) else None,
        today=today,
        last_month_label=f"{last_month:%B %Y}",
    )


def adhoc_options(session) -> Markup:
    """The ad-hoc walkabout's ward <option>s (every active ward), rendered once until the wards
    change: a large trust has hundreds, and the list was a tenth of an executive's Home."""
    return kept_fragment(
        ("home_adhoc_options",),
        lambda: options(capture.adhoc_wards(session), None, "full_name"),
        scope=data_version.CHOICES,
    )


@dataclass(frozen=True)
class Sections:
    """Home's sections that hold no form (so no CSRF token), rendered once per data version."""

    follow_up: Markup | None  # executives only
    my_actions: Markup


def sections(session, user, today: date, data: home.HomeData) -> Sections:
    def build() -> Sections:
        follow_up = data.follow_up and Markup(
            render_template("home/_follow_up.html", follow_up=data.follow_up)
        )
        return Sections(follow_up, Markup(render_template("home/_my_actions.html", overview=data.overview)))

    return kept_fragment(("home_sections", *home.data_key(user, today)), build)
