"""``nullswap protect --verify``: did the protection take, face by face?

For each protected face, the clean photo and the protected file *as saved* are both handed to an
independent detector (dlib's HOG detector + landmarks; protection itself detects with MTCNN), each face
is re-aligned from that detection and embedded by the offline recognizers, and the cosine between the
clean and the protected embedding is reported.  Both sides go through the same re-detection, so the
number measures what the cloak does to a recognizer that finds the face on its own — not what it does
to our own crop.  Per face and recognizer the report gives the cosine, its **drop** from 1 (the clean
face against itself) and its **margin** under the recognizer's own same-person threshold: below the
threshold (``crossed``), that recognizer no longer matches the protected face to the clean one.

The default recognizers are ``dlib`` and ``sface`` (the demo model is trained against them) and
``mobilefacenet``, which no NullSwap model here is trained against — the honest test of transfer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nullswap.faces.redetect import REDETECTOR, redetect_in_photo

DEFAULT_RECOGNIZERS = ("dlib", "sface", "mobilefacenet")


class Verifier:
    """Loaded recognizers plus the independent detector; one instance serves a whole run."""

    def __init__(self, recognizers: Sequence[str] = DEFAULT_RECOGNIZERS, device: str = "cpu",
                 detector: str = REDETECTOR, trained_against: Sequence[str] = ()) -> None:
        import nullswap.recognizers

        self.names = list(recognizers)
        self.models = {name: nullswap.recognizers.load(name, device=device) for name in self.names}
        self.device = device
        self.detector = detector
        self.trained_against = set(trained_against)

    def describe(self) -> dict[str, object]:
        return {"detector": self.detector, "recognizers": {
            name: {"threshold": model.threshold, "seen_in_training": name in self.trained_against}
            for name, model in self.models.items()}}

    @torch.no_grad()
    def _embed(self, crops: list[np.ndarray]) -> dict[str, np.ndarray]:
        batch = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div(255).to(self.device)
        return {name: model(batch).cpu().numpy().astype(np.float64) for name, model in self.models.items()}

    def check(self, clean: np.ndarray, protected: np.ndarray, boxes: Sequence[Sequence[float]]) -> list[dict]:
        """Per face (in ``boxes`` order): re-detection outcome and the clean↔protected cosine per recognizer."""
        clean_crops = redetect_in_photo(clean, boxes, self.detector)
        protected_crops = redetect_in_photo(protected, boxes, self.detector)
        rows: list[dict] = []
        pairs = [(i, c, p) for i, (c, p) in enumerate(zip(clean_crops, protected_crops)) if c is not None and p is not None]
        cosines: dict[int, dict[str, float]] = {i: {} for i, _, _ in pairs}
        if pairs:
            clean_emb = self._embed([c for _, c, _ in pairs])
            protected_emb = self._embed([p for _, _, p in pairs])
            for name in self.names:
                values = np.einsum("nd,nd->n", clean_emb[name], protected_emb[name])
                for (i, _, _), value in zip(pairs, values):
                    cosines[i][name] = round(float(value), 4)
        for index, box in enumerate(boxes):
            found = clean_crops[index] is not None, protected_crops[index] is not None
            row: dict[str, object] = {"face": index, "box": [round(float(v), 1) for v in box],
                                      "redetected": {"clean": found[0], "protected": found[1]}}
            if index in cosines:
                row["cosine"] = cosines[index]
                row["drop"] = {name: round(1.0 - value, 4) for name, value in cosines[index].items()}
                row["still_matched"] = {
                    name: None if self.models[name].threshold is None else bool(value >= self.models[name].threshold)
                    for name, value in cosines[index].items()}
                row["crossed"] = {name: None if matched is None else not matched
                                  for name, matched in row["still_matched"].items()}
                row["margin"] = {
                    name: None if self.models[name].threshold is None
                    else round(float(self.models[name].threshold) - value, 4)
                    for name, value in cosines[index].items()}
            rows.append(row)
        return rows


def _verdict(matched: bool | None) -> str:
    return "no threshold" if matched is None else ("still matched" if matched else "protected")


def _why_not(matched: list[str], verifier: Verifier, refined: bool) -> str:
    trained = [n for n in matched if n in verifier.trained_against]
    if not refined:
        return ("the generator's one pass alone seldom crosses a recognizer's threshold on faces it was not "
                "trained on; add --refine (per-face optimisation against the recognizers it was trained on)")
    if trained:
        return ("refinement did not push it under the threshold within the fidelity budget; more steps "
                "(--refine 40) or a lower --psnr (more visible) go further")
    return ("refinement optimises against the recognizers the generator was trained on; this one was never "
            "seen, and transfer to it is partial")


def format_table(results: Sequence[tuple[str, list[dict]]], verifier: Verifier, refined: bool = False) -> str:
    """A plain-text table: one line per face, one column per recognizer (cosine, its drop from 1, and
    whether it fell under the threshold), then a note for every face a recognizer still matches."""
    names = verifier.names
    def threshold(name: str) -> str:
        value = verifier.models[name].threshold
        return "?" if value is None else f"{value:.2f}"

    header = ["photo", "face"] + [
        f"{n}{'' if n in verifier.trained_against else ' (unseen)'} [t={threshold(n)}]" for n in names]
    lines = [header]
    notes: list[str] = []
    for photo, rows in results:
        for row in rows:
            if "cosine" not in row:
                lost = [k for k, v in row["redetected"].items() if not v]
                cells = [f"not re-detected ({'/'.join(lost)})"] + [""] * (len(names) - 1)
            else:
                cells = [f"{row['cosine'][n]:+.3f} (-{1 - row['cosine'][n]:.3f}) {_verdict(row['still_matched'][n])}"
                         for n in names]
                matched = [n for n in names if row["still_matched"][n]]
                if matched:
                    notes.append(f"  {photo} face {row['face']}: still matched by {', '.join(matched)}: "
                                 f"{_why_not(matched, verifier, refined)}")
            lines.append([photo, str(row["face"]), *cells])
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    note = (f"identity cosine clean vs protected as saved, both re-detected with {verifier.detector} "
            "(drop from 1 in brackets); 'protected' = below the recognizer's same-person threshold t")
    return "\n".join([note, *text, *notes])
