"""Finding clinics by name (seed 000 3.2) and by type of care, through the clinic index.

Names are compared folded (case, ё/е, quotes and dashes do not matter). A part of the name
matches as it is; beyond that, small typos are forgiven by rapidfuzz's partial ratio, which
compares the query with the best-matching stretch of each name.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from core.clinics.index import ClinicIndex, Entry

TYPO_SCORE = 80  # of 100: one wrong, missing or extra letter in a word of six or so
MIN_FUZZY = 4  # shorter queries match as a part of the name only
PUNCTUATION = re.compile(r"[«»\"'“”„()\[\],.:;!?]+")


def fold(text: str) -> str:
    text = text.casefold().replace("ё", "е")
    text = re.sub(r"\s*[-—–]\s*", "-", PUNCTUATION.sub(" ", text))
    return " ".join(text.split())


def _folded(index: ClinicIndex) -> tuple[list[str], list[Entry]]:
    """The folded names, computed once per index (an index is replaced, never changed)."""
    if index.folded_names is None:
        entries = sorted(index.entries.values(), key=lambda e: (e.name, e.id))
        index.folded_names = ([fold(e.name) for e in entries], entries)
    return index.folded_names


def by_name(
    index: ClinicIndex, query: str, accept: Callable[[Entry], bool] | None = None
) -> list[Entry]:
    """Clinics whose name holds the query, then those that nearly do (typos), best first."""
    needle = fold(query)
    if not needle:
        return []
    names, entries = _folded(index)
    exact = [e for name, e in zip(names, entries, strict=True) if needle in name]
    seen = {e.id for e in exact}
    fuzzy: list[Entry] = []
    if len(needle) >= MIN_FUZZY:
        # Loaded on the first search by name, not when the bot starts (issue 19: start-up).
        from rapidfuzz import fuzz, process

        matches = process.extract(
            needle,
            names,
            scorer=fuzz.partial_ratio,
            score_cutoff=TYPO_SCORE,
            limit=None,
        )
        ranked = sorted(matches, key=lambda m: (-m[1], m[2]))  # score, then the name's order
        fuzzy = [entries[i] for _, _, i in ranked if entries[i].id not in seen]
    found = exact + fuzzy
    return [e for e in found if accept is None or accept(e)]
