"""Text normalisation and fast duplicate / containment matching for leakage checks.

Used by ``teamform data validate`` (:mod:`bench.data.leakage`) and by the synthesis leakage
guard, which must reject generated tasks that (nearly) copy an evaluation task.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

_NON_WORD = re.compile(r"[\W_]+")


def normalise_text(text: str) -> str:
    """Lower-case, punctuation removed, whitespace collapsed.

    Unicode is NFKC-normalised and case-folded; every run of punctuation, symbols and whitespace
    becomes one space, so ``"Kiln-retrofit!"`` and ``"kiln  retrofit"`` compare equal.

    Args:
        text: any text.

    Returns:
        The normalised text: words separated by single spaces, no leading/trailing space.

    Example:
        >>> normalise_text("  Plan the KILN's\\n downtime, (Q3)!")
        'plan the kiln s downtime q3'
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def tokens(text: str) -> list[str]:
    """The words of :func:`normalise_text` of ``text``."""
    return normalise_text(text).split()


def token_jaccard(a: str, b: str) -> float:
    """Jaccard similarity of the word sets of two texts, ``|A & B| / |A | B|``.

    Two texts without words are identical (1.0). Example:
        >>> token_jaccard("Plan the kiln downtime", "plan kiln downtime now")
        0.6
    """
    sa, sb = set(tokens(a)), set(tokens(b))
    if not sa and not sb:
        return 1.0
    return len(sa & sb) / len(sa | sb)


def near_duplicate(a: str, b: str, threshold: float = 0.8) -> bool:
    """Whether two texts are near-duplicates: word Jaccard >= ``threshold``.

    Example:
        >>> near_duplicate("Plan the kiln downtime.", "plan the KILN downtime")
        True
        >>> near_duplicate("Plan the kiln downtime", "Audit the payroll", 0.5)
        False
    """
    return token_jaccard(a, b) >= threshold


def _min_overlap(size: int, threshold: float) -> int:
    """The fewest shared words a set of ``size`` words needs for Jaccard >= ``threshold``."""
    return max(1, math.ceil(threshold * size - 1e-9))


class NearDuplicateIndex:
    """All texts of a collection whose word Jaccard with a query reaches a threshold.

    Prefix filtering (Bayardo et al., "Scaling up all pairs similarity search", WWW 2007): with
    words in one global order (rarest first), two sets with Jaccard >= t share a word among the
    first ``|A| - ceil(t|A|) + 1`` words of each, so only texts sharing such a prefix word are
    compared exactly. Results equal comparing the query with every text by
    :func:`token_jaccard`.

    Example:
        >>> index = NearDuplicateIndex(["Plan the kiln downtime", "Audit payroll"], 0.8)
        >>> index.matches("plan the kiln downtime!")
        [0]
    """

    def __init__(self, texts: Iterable[str], threshold: float = 0.8) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.sets = [frozenset(tokens(t)) for t in texts]
        self.frequency = Counter(w for s in self.sets for w in s)
        self.postings: dict[str, list[int]] = defaultdict(list)
        self.empty = [i for i, s in enumerate(self.sets) if not s]
        for i, words in enumerate(self.sets):
            for word in self._prefix(words):
                self.postings[word].append(i)

    def _prefix(self, words: frozenset[str]) -> list[str]:
        ordered = sorted(words, key=lambda w: (self.frequency.get(w, 0), w))
        return ordered[: len(ordered) - _min_overlap(len(ordered), self.threshold) + 1] if ordered else []

    def matches(self, text: str) -> list[int]:
        """Indices (ascending) of the indexed texts with Jaccard >= threshold to ``text``."""
        query = frozenset(tokens(text))
        if not query:
            return list(self.empty)
        candidates = {i for word in self._prefix(query) for i in self.postings.get(word, ())}
        hits = []
        for i in candidates:
            other = self.sets[i]
            if len(query & other) / len(query | other) >= self.threshold:
                hits.append(i)
        return sorted(hits)


class PhraseIndex:
    """Which phrases occur, word for word after normalisation, inside longer texts.

    Aho-Corasick-like: phrases are indexed by their first ``head`` words, a text is scanned once
    and every head found is verified against the full phrase, so a scan costs O(words of the
    text) rather than O(phrases x text length).

    Example:
        >>> index = PhraseIndex(["plan the kiln downtime", "audit payroll"])
        >>> index.find("Last year she had to plan the kiln-downtime, twice.")
        [0]
    """

    def __init__(self, phrases: Sequence[str], head: int = 3) -> None:
        self.phrases = [tuple(tokens(p)) for p in phrases]
        self.heads: dict[int, dict[tuple[str, ...], list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, words in enumerate(self.phrases):
            if words:  # a phrase without words is in every text: it matches nothing
                n = min(head, len(words))
                self.heads[n][words[:n]].append(i)

    def find(self, text: str) -> list[int]:
        """Indices (ascending) of the phrases that occur in ``text``."""
        words = tokens(text)
        found: set[int] = set()
        for n, table in self.heads.items():
            grams = list(
                zip(*(words[k:] for k in range(n)), strict=False)
            )  # every run of n consecutive words
            common = table.keys() & set(grams)
            if not common:
                continue
            for start, gram in enumerate(grams):
                if gram in common:
                    for i in table[gram]:
                        phrase = self.phrases[i]
                        if i not in found and tuple(words[start : start + len(phrase)]) == phrase:
                            found.add(i)
        return sorted(found)
