"""How report text is written: a number to its digits, a dash where there is none, the paper beside it,
and the command that made a report."""

from __future__ import annotations

import numpy as np

DASH = "–"
#: digits of the visual-quality metrics (identification rates use the default three)
DIGITS = {"psnr": 2, "ssim": 4, "perceptual": 4}


def fmt(value: float | None, digits: int = 3) -> str:
    return (
        DASH
        if value is None or (isinstance(value, float) and not np.isfinite(value))
        else f"{value:.{digits}f}"
    )


def with_paper(measured: str, reference: str, label: str = "paper") -> str:
    """``measured (paper reference)``; the parenthesis is left out where the paper has no such number."""
    if not reference.replace(DASH, "").replace("/", "").strip():
        return measured
    return f"{measured} ({label} {reference})"


def made_with(command: str) -> list[str]:
    """Markdown lines that give the command a report was made with, ready to copy."""
    return ["Made with:", "", "```", command, "```", ""]
