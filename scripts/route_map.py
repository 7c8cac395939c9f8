"""Write the route map of docs/architecture.md from the app's URL map (`flask routes`).

Run `.venv/bin/python scripts/route_map.py` after adding or changing a route;
tests/test_docs.py fails while the map in the document is out of date.
"""

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "architecture.md"
START, END = "<!-- route map: start -->", "<!-- route map: end -->"


def route_map() -> str:
    """The app's routes as a Markdown table: path, methods and endpoint."""
    from walkabout import create_app

    with tempfile.TemporaryDirectory() as instance:
        app = create_app({"ENV": "test", "SECRET_KEY": "route-map-" + "x" * 32,
                          "DATABASE_URL": f"sqlite:///{instance}/map.db", "HTTPS": False})  # fmt: skip
        lines = ["| path | methods | endpoint |", "|---|---|---|"]
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
            if rule.endpoint == "static":
                continue
            methods = ", ".join(sorted(rule.methods - {"HEAD", "OPTIONS"}))
            lines.append(f"| `{rule.rule}` | {methods} | `{rule.endpoint}` |")
    return "\n".join(lines)


def document_with(table: str) -> str:
    text = DOC.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


if __name__ == "__main__":
    DOC.write_text(document_with(route_map()))
    print(f"route map written to {DOC.relative_to(ROOT)}")
