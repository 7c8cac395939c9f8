"""The administrator's RAG thresholds form: a green and an amber threshold per figure."""

from flask_wtf import FlaskForm
from wtforms import StringField

from ..services.rag import FIGURES
from ..urls import ascii_int

PARSE_LIMIT = 999_999  # the service refuses what is out of each figure's range, by name


class RagThresholdsForm(FlaskForm):
    """Fields `<figure>_green` and `<figure>_amber` (ASCII whole numbers; the service checks order)."""

    def values(self) -> dict[str, tuple[int | None, int | None]]:
        """(green, amber) per figure; None where the text is not a plain whole number."""
        return {
            key: tuple(
                ascii_int((self[f"{key}_{which}"].data or "").strip(), low=0, high=PARSE_LIMIT)
                for which in ("green", "amber")
            )
            for key in FIGURES
        }


for _key, _figure in FIGURES.items():
    for _which in ("green", "amber"):
        setattr(
            RagThresholdsForm,
            f"{_key}_{_which}",
            StringField(f"{_which.capitalize()} {'at least' if _figure.higher_is_better else 'at most'}"),
        )
