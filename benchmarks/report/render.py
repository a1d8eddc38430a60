"""A :class:`~benchmarks.report.builders.TableBuild` as Markdown and as LaTeX (text only; writing is elsewhere)."""

from __future__ import annotations

from benchmarks.report.builders import TableBuild
from nullswap.standin import REHEARSAL_HEADER

TITLES = {
    "table1": "Table 1 — visual quality of the protected faces (PSNR ↑, SSIM ↑, perceptual distance ↓)",
    "table2": "Table 2 — identification accuracy on protected faces, Acc@5 / Acc@1 (lower = better cloaking)",
    "table3": "Table 3 — identity similarity between swaps of the clean and the protected source (lower is better)",
    "table4": "Table 4 — cross-data-set identification, Acc@5 / Acc@1 (lower = better cloaking)",
    "table5": "Table 5 — DLW ablation, Acc@1 per training session (lower = better cloaking)",
}
#: characters of the Markdown tables that plain (pdf)LaTeX does not take as they are
LATEX_SYMBOLS = {
    "†": r"\textsuperscript{\dag}",
    "–": "--",
    "—": "---",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "×": r"$\times$",
    "σ": r"$\sigma$",
}


def latex_symbols(text: str) -> str:
    for symbol, command in LATEX_SYMBOLS.items():
        text = text.replace(symbol, command)
    return text


def title(build: TableBuild) -> str:
    return TITLES.get(build.name, build.name)


def check_rehearsal(build: TableBuild) -> None:
    """A table built from rehearsal cells is never rendered without its REHEARSAL header."""
    if build.rehearsal and not build.header.startswith(REHEARSAL_HEADER):
        raise ValueError(
            f"{build.name}: built from rehearsal cells (stand-in weights) but its header does not start with "
            f"'{REHEARSAL_HEADER}'; refusing to render it as results"
        )


def markdown(build: TableBuild) -> str:
    """The table under its title and setting header, followed by its notes."""
    check_rehearsal(build)
    notes = "".join(f"- {n}\n" for n in build.notes)
    text = f"## {title(build)}\n\n{build.header}\n\n{build.display.to_markdown()}\n"
    if notes:
        text += f"\nNotes:\n\n{notes}"
    return text


def latex(build: TableBuild, label: str) -> str:
    """The table as a LaTeX ``table`` environment, the title and setting as its caption."""
    check_rehearsal(build)
    caption = f"{title(build)}. {build.header}."
    text = build.display.to_latex(caption=caption, label=f"tab:{label}", escape=True, column_format=None)
    return latex_symbols(text)
