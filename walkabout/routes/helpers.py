"""What the routes share: stopping with an error page, and the one transaction ladder
(call the service, commit or roll back, flash, redirect 303)."""

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, make_response, redirect, request

from ..db import get_session
from ..errors import render_error
from ..services import ServiceError, data_version, versioned_cache

T = TypeVar("T")


def refuse(status: int, message: str):
    """Stop the request with the error page (or fragment) carrying `message`."""
    abort(make_response(render_error(status, message)))


def commit_and_redirect(
    change: Callable[[], Any],
    done: str | Callable[[Any], str] | None,
    to: str | Callable[[Any], str],
    failed_to: str | None = None,
):
    """Run `change()` (the service call), commit, flash `done` (unless None) and redirect
    (303) to `to`.

    `done` and `to` may be functions of what `change` returned (called after the commit).
    A ServiceError rolls everything back; with `failed_to` its message is flashed and the
    user sent there, otherwise it is raised again for the route to show on its form."""
    session = get_session()
    try:
        result = change()
    except ServiceError as error:
        session.rollback()
        if failed_to is None:
            raise
        flash(str(error), "error")
        return redirect(failed_to, code=303)
    session.commit()
    if done is not None:
        flash(done(result) if callable(done) else done, "success")
    return redirect(to(result) if callable(to) else to, code=303)


def kept_fragment(key: tuple, render: Callable[[], T], scope: str = data_version.RECORDS) -> T:
    """`render()` (a fragment with no CSRF token and no raw query-string text), or what it gave
    in this process at the current data version of `scope` (services/versioned_cache). Its links
    were built under this request's script root, so the root is part of the key."""
    return versioned_cache.remember(get_session(), ("fragment", request.script_root, *key), render, scope)
