"""Where templates, static files and migrations live.

In a source checkout they sit beside the package (`templates/`, `static/`,
`migrations/`); an installed wheel carries them inside the package.
"""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The directory `name` (templates, static or migrations), installed or not."""
    installed = PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return PACKAGE_DIR.parent / name
