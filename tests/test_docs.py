"""The documents in the repository stay true to the code."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import route_map  # noqa: E402


def test_the_route_map_in_docs_matches_the_app():
    current = route_map.DOC.read_text()
    assert current == route_map.document_with(route_map.route_map()), (
        "docs/architecture.md's route map is out of date: run .venv/bin/python scripts/route_map.py"
    )


def test_the_readme_points_only_inside_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "../" not in readme
    for link in re.findall(r"\]\(([^)#]+)", readme):
        if not link.startswith(("http://", "https://", "mailto:")):
            assert (ROOT / link).exists(), f"README links to {link}, which is not in the repository"
