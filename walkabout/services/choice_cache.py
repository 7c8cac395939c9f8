"""The choice lists of the list pages and forms (wards, sites, owners, executives), kept per
process: a large trust lists hundreds of each, and reading them was a tenth of a list page.

They are kept at the "choices" data version (services/data_version.py), which moves on with any
commit to wards, sites, people, roles, ward managers or the admin lists, from any process: the
next request everywhere builds them again. Whatever a form posts back is checked against the
database all the same.
"""

from collections.abc import Callable
from typing import TypeVar

from sqlmodel import Session

from . import data_version, versioned_cache

T = TypeVar("T")


def cached(session: Session, key: str, build: Callable[[], T]) -> T:
    """`build()`, or what it gave in this process since the choice lists last changed."""
    return versioned_cache.remember(session, ("choice_list", key), build, scope=data_version.CHOICES)
