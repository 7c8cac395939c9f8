"""Fragment or page: htmx swaps get a fragment, but a history restore (Back button
after the history cache missed: htmx 2 sends `HX-Request` and
`HX-History-Restore-Request`) and a plain request get the whole page."""

import re
from pathlib import Path

import pytest

from walkabout.models import Role, WalkaboutStatus

from .conftest import login

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# every template that pushes a URL into the history -> the page that URL answers
PUSHED_PAGES = {
    "actions/index.html": "/actions",
    "_macros.html": "/actions",  # the pagination macro, used by the actions and walkabout results
    "walkabouts/_results.html": "/walkabouts",
    "coverage/index.html": "/coverage",
    "coverage/_table.html": "/coverage",
}
SWAP = {"HX-Request": "true"}
RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}


def is_full_page(html: str) -> bool:
    return "<html" in html and 'class="nhsuk-header' in html and "vendor/walkabout.css" in html


def test_every_template_that_pushes_a_url_is_listed():
    pushing = {
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if re.search(r"(?:data-)?hx-push-url=\"(?!false)", path.read_text())
    }
    assert pushing == set(PUSHED_PAGES), "a template with hx-push-url needs its page in PUSHED_PAGES"


@pytest.fixture
def signed_in(client, factory):
    executive = factory.user(Role.EXECUTIVE)
    manager = factory.user(Role.WARD_MANAGER)
    ward = factory.ward(managers=(manager,))
    walkabout = factory.walkabout(ward, executive, status=WalkaboutStatus.IN_PROGRESS)
    factory.action(factory.concern(walkabout), manager)
    login(client, executive.email)
    return client


@pytest.mark.parametrize("path", sorted(set(PUSHED_PAGES.values())))
@pytest.mark.parametrize("query", ["", "?page=2&sort=risk"])
def test_history_restore_gets_the_whole_page(signed_in, path, query):
    response = signed_in.get(path + query, headers=RESTORE)
    assert response.status_code == 200
    assert is_full_page(response.get_data(as_text=True)), f"{path}: Back button shows a bare fragment"


@pytest.mark.parametrize("path", sorted(set(PUSHED_PAGES.values())))
def test_htmx_swap_gets_the_fragment_and_plain_get_the_page(signed_in, path):
    fragment = signed_in.get(path, headers=SWAP).get_data(as_text=True)
    assert "<html" not in fragment and 'class="topbar"' not in fragment
    assert is_full_page(signed_in.get(path).get_data(as_text=True))


def test_an_error_on_history_restore_is_a_whole_page(signed_in):
    response = signed_in.get("/actions/999999", headers=RESTORE)
    assert response.status_code == 404
    assert is_full_page(response.get_data(as_text=True))
    fragment = signed_in.get("/actions/999999", headers=SWAP)
    assert fragment.status_code == 404 and "<html" not in fragment.get_data(as_text=True)
