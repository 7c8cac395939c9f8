"""The one transaction ladder of the routes: commit and redirect, or roll back everything."""

import pytest
from flask import get_flashed_messages
from sqlmodel import select

from walkabout.db import get_session, session_scope
from walkabout.models import Site
from walkabout.routes.helpers import commit_and_redirect
from walkabout.services import ServiceError


def site_names(app) -> list[str]:
    with session_scope(app, write=False) as session:
        return list(session.exec(select(Site.name)).all())


def test_success_commits_flashes_and_redirects_with_303(app):
    with app.test_request_context("/", method="POST"):

        def change():
            site = Site(name="North")
            get_session().add(site)
            get_session().flush()
            return site

        response = commit_and_redirect(
            change, lambda site: f"Saved {site.name}.", lambda site: f"/s/{site.id}"
        )
        assert response.status_code == 303 and response.headers["Location"].startswith("/s/")
        assert get_flashed_messages(with_categories=True) == [("success", "Saved North.")]
    assert site_names(app) == ["North"]


def half_done_then_refused():
    get_session().add(Site(name="Half done"))
    get_session().flush()
    raise ServiceError("Refused half-way.")


def test_a_refusal_rolls_back_what_the_service_had_written(app):
    with app.test_request_context("/", method="POST"):
        with pytest.raises(ServiceError, match="Refused half-way"):
            commit_and_redirect(half_done_then_refused, "never shown", "/")
        get_session().commit()  # even a later commit in the same request stores nothing
    assert site_names(app) == []


def test_a_refusal_with_a_place_to_go_is_flashed_there(app):
    with app.test_request_context("/", method="POST"):
        response = commit_and_redirect(half_done_then_refused, "never shown", "/", failed_to="/back")
        assert response.status_code == 303 and response.headers["Location"] == "/back"
        assert get_flashed_messages(with_categories=True) == [("error", "Refused half-way.")]
    assert site_names(app) == []


ASCII_CASES = [("7", 7), ("0", None), ("2147483647", 2147483647), ("2147483648", None), ("-1", None)]
UNICODE_CASES = [("²", None), ("٣", None), ("\uff11", None), (" 7", None), ("7\n", None), ("1e3", None)]


@pytest.mark.parametrize(("raw", "expected"), [*ASCII_CASES, *UNICODE_CASES, ("", None), (None, None)])
def test_numbers_from_the_query_string_are_ascii_digits_only(raw, expected):
    from walkabout.urls import ascii_int

    assert ascii_int(raw) == expected
