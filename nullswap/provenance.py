"""Where this checkout is and which commit it is at: the facts every result records about the code.

One home for the repository root and the git queries, so that a result, a sweep report and a cluster
profile all name the same checkout the same way (and a checkout without git records ``None``).
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

#: the root of this checkout (the folder holding ``nullswap/``, ``baselines/``, ``benchmarks/``)
REPO_ROOT = Path(__file__).resolve().parent.parent


def _git(repo: Path, *args: str) -> str | None:
    """``git -C repo args`` stripped stdout, or ``None`` when git is absent or the command fails."""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit(repo: str | Path = REPO_ROOT) -> str | None:
    """``git rev-parse HEAD`` of ``repo`` (this checkout by default), or ``None`` when it has none."""
    return _git(Path(repo), "rev-parse", "HEAD") or None


@functools.lru_cache(maxsize=1)
def git_state() -> dict[str, object]:
    """Commit of this checkout and whether tracked files differ from it (untracked files do not count)."""
    commit = git_commit()
    status = _git(REPO_ROOT, "status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}
