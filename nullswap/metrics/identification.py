"""Closed-set face identification (Tables 2, 4, 5): top-k accuracy of protected probes against clean templates.

The paper gives top-1/top-5 accuracy under ArcFace, FaceNet, VGG-Face and SFace but not how the gallery
is built.  This module fixes one protocol, chosen so that the paper's clean accuracies are reachable
(a gallery containing the probe's own clean photo would give a clean accuracy of 1.0, which the paper's
0.976 / 0.791 rule out):

* **probe** = the *protected* image i of identity y (an attacker holds the shared, protected photo);
* **gallery** = one template per identity: the mean of the L2-normalised embeddings of that identity's
  *clean* images, re-normalised.  For the probe's own identity the template leaves image i out
  (leave-one-out), so the attacker never holds the very photo that was protected; for every other
  identity it uses all of its clean images;
* an image whose identity has no *other* clean image cannot be a probe (it has no template to be found
  by) and is skipped; such single-image identities still enter the gallery as **distractors** with their
  one clean image (``singletons_as_distractors=True``, the default), because in a real test split they
  are people an attacker could confuse the probe with.  Set it to ``False`` to keep only identities
  with two or more images in the gallery;
* ranking by cosine similarity; the probe's rank is 1 + the number of *other* templates whose
  similarity is **greater than or equal to** that of its own template (ties count against the probe);
  top-k accuracy = fraction of probes with rank ≤ k;
* a probe whose protected embedding failed (a back end that re-detects found no face: a NaN row) is
  counted as *not identified* and reported in ``n_probe_failures``; ``accuracy_detected`` gives the
  accuracy over the probes that were embedded.  Clean images whose embedding failed are left out of
  every template.
* an image whose *protection* failed (``exclude``: the defence reported it failed and handed back the
  clean crop) is no probe at all — neither identified nor missed, status ``"excluded"``, counted in
  ``n_excluded`` — because the protected photo it stands for does not exist; its clean image still
  serves the gallery like every other.

Beside identification, two per-image measures that need no gallery: the mean cosine similarity between
the clean and protected embedding of the same image, and the **verification rate**: the fraction of
images whose protected version the recognizer still accepts as the same person as its clean version at
the recognizer's own decision threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from nullswap.metrics.embedding import normalize_rows, valid_rows

PROTOCOL = (
    "probe = protected image; gallery = per-identity mean of L2-normalised clean embeddings, "
    "leave-one-out for the probe's own identity; single-image identities are not probes; "
    "cosine ranking, ties count against the probe"
)


@dataclass
class IdentificationResult:
    """Top-k accuracies plus the per-image ranks they come from."""

    accuracy: dict[int, float]
    accuracy_detected: dict[int, float]
    ranks: list[int | None]  # per image: rank of its own identity, None when not a probe/failed
    status: list[str]  # per image: "probe", "skipped" (no other clean image), "failed", "excluded"
    n_images: int
    n_probes: int
    n_skipped: int
    n_probe_failures: int
    n_gallery_failures: int
    n_identities: int
    n_gallery_templates: int
    same_image_cosine: np.ndarray  # per image cos(clean_i, protected_i); NaN where either failed
    threshold: float | None = None
    singletons_as_distractors: bool = True
    n_excluded: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def top1(self) -> float:
        return self.accuracy[1]

    @property
    def top5(self) -> float:
        return self.accuracy[5]

    @property
    def same_image_cosine_mean(self) -> float | None:
        finite = self.same_image_cosine[np.isfinite(self.same_image_cosine)]
        return float(finite.mean()) if len(finite) else None

    @property
    def verified_rate(self) -> float | None:
        """Fraction of images still verified as the same person (cos ≥ threshold); None without a threshold."""
        finite = self.same_image_cosine[np.isfinite(self.same_image_cosine)]
        if self.threshold is None or not len(finite):
            return None
        return float((finite >= self.threshold).mean())

    def summary(self) -> dict[str, object]:
        values: dict[str, object] = {f"top{k}": v for k, v in self.accuracy.items()}
        values.update({f"top{k}_detected": v for k, v in self.accuracy_detected.items()})
        values["same_image_cosine"] = self.same_image_cosine_mean
        values["verified_rate"] = self.verified_rate
        values["threshold"] = self.threshold
        return values


def identify(
    clean: np.ndarray,
    protected: np.ndarray,
    identities: Sequence[str],
    *,
    ks: Sequence[int] = (1, 5),
    threshold: float | None = None,
    singletons_as_distractors: bool = True,
    chunk: int = 1024,
    exclude: Sequence[bool] | np.ndarray | None = None,
) -> IdentificationResult:
    """Run the protocol above.

    ``clean`` and ``protected`` are (N, D) embeddings of the same N images in the same order (row i of
    ``protected`` is the protected version of row i of ``clean``); ``identities`` labels each image.
    Pass ``protected = clean`` for the clean baseline.  ``exclude`` marks images whose protection failed:
    they are not probes (see the module docstring).
    """
    clean = np.asarray(clean, dtype=np.float64)
    protected = np.asarray(protected, dtype=np.float64)
    n = len(identities)
    if clean.shape != protected.shape or clean.ndim != 2 or clean.shape[0] != n:
        raise ValueError(f"clean {clean.shape}, protected {protected.shape} and {n} identities do not match")
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive ranks, got {list(ks)}")
    c, p = normalize_rows(clean), normalize_rows(protected)
    c_ok, p_ok = valid_rows(c), valid_rows(p)
    names, label = np.unique(np.asarray(identities, dtype=object).astype(str), return_inverse=True)
    k_ids, dim = len(names), c.shape[1]

    sums = np.zeros((k_ids, dim))
    np.add.at(sums, label[c_ok], c[c_ok])
    counts = np.bincount(label[c_ok], minlength=k_ids)
    in_gallery = counts >= (1 if singletons_as_distractors else 2)
    gallery_ids = np.flatnonzero(in_gallery)
    templates = normalize_rows(sums[gallery_ids])
    column_of = np.full(k_ids, -1)
    column_of[gallery_ids] = np.arange(len(gallery_ids))

    own_count = counts[label] - c_ok.astype(int)  # clean images of i's identity other than i
    excluded = np.zeros(n, dtype=bool) if exclude is None else np.asarray(exclude, dtype=bool)
    if excluded.shape != (n,):
        raise ValueError(f"exclude has shape {excluded.shape}, expected ({n},)")
    eligible = (own_count >= 1) & ~excluded
    status = np.where(excluded, "excluded", np.where(eligible, np.where(p_ok, "probe", "failed"), "skipped"))
    ranks: list[int | None] = [None] * n
    scored = np.flatnonzero(eligible & p_ok)
    for start in range(0, len(scored), chunk):
        rows = scored[start : start + chunk]
        sims = p[rows] @ templates.T  # (b, G)
        own_sum = sums[label[rows]] - np.where(c_ok[rows, None], c[rows], 0.0)
        own = normalize_rows(own_sum)
        own_sim = np.einsum("bd,bd->b", p[rows], own)
        own_col = column_of[label[rows]]  # the probe identity's all-image column (if any)
        ahead = sims >= own_sim[:, None]
        has_col = own_col >= 0
        ahead[np.flatnonzero(has_col), own_col[has_col]] = False
        for row, rank in zip(rows, 1 + ahead.sum(axis=1)):
            ranks[row] = int(rank)

    n_probes = int(eligible.sum())
    rank_array = np.array([np.inf if r is None else r for r in ranks], dtype=np.float64)
    accuracy = {int(k): (float((rank_array[eligible] <= k).mean()) if n_probes else float("nan")) for k in ks}
    detected = eligible & p_ok
    accuracy_detected = {
        int(k): (float((rank_array[detected] <= k).mean()) if detected.any() else float("nan")) for k in ks
    }

    same = np.full(n, np.nan)
    both = c_ok & p_ok & ~excluded
    same[both] = np.einsum("nd,nd->n", c[both], p[both])

    result = IdentificationResult(
        accuracy=accuracy,
        accuracy_detected=accuracy_detected,
        ranks=ranks,
        status=status.tolist(),
        n_images=n,
        n_probes=n_probes,
        n_skipped=int((~eligible & ~excluded).sum()),
        n_probe_failures=int((eligible & ~p_ok).sum()),
        n_gallery_failures=int((~c_ok).sum()),
        n_identities=k_ids,
        n_gallery_templates=len(gallery_ids),
        same_image_cosine=same,
        threshold=threshold,
        singletons_as_distractors=singletons_as_distractors,
        n_excluded=int(excluded.sum()),
    )
    if result.n_skipped:
        result.notes.append(
            f"{result.n_skipped} images skipped as probes (no other clean image of their identity)"
        )
    if result.n_probe_failures:
        result.notes.append(
            f"{result.n_probe_failures} probes could not be embedded and count as not identified"
        )
    if n_probes == 0:
        result.notes.append("no probes: every identity has a single image")
    return result
