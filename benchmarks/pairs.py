"""Seeded source–target pairs for face swapping (Table 3): every pair joins two *different* identities.

The same (identities, number of pairs, seed) always gives the same pairs, so the clean and the protected
swaps of every protector and swapper use the same targets, and a resumed run measures the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def sample_pairs(identities: Sequence[str], n_pairs: int | None = None, seed: int = 0) -> list[tuple[int, int]]:
    """``n_pairs`` (source index, target index) pairs with different identities.

    Sources walk through a seeded permutation of all images (each image is a source once before any is
    used twice; ``None`` = one pair per image); each target is drawn uniformly, with the same generator,
    among the images of the other identities."""
    labels = np.asarray(list(identities), dtype=object)
    if len(set(labels.tolist())) < 2:
        raise ValueError("face-swap pairs need at least two identities")
    count = len(labels) if n_pairs is None else int(n_pairs)
    if count < 1:
        raise ValueError(f"n_pairs must be positive, got {n_pairs}")
    rng = np.random.default_rng(seed)
    pairs: list[tuple[int, int]] = []
    order: list[int] = []
    while len(pairs) < count:
        if not order:
            order = rng.permutation(len(labels)).tolist()
        source = order.pop(0)
        others = np.flatnonzero(labels != labels[source])
        pairs.append((int(source), int(rng.choice(others))))
    return pairs
