"""The sentences a user reads when an upstream is not ready: what is missing, where, and the command.

Kept apart from the runner so that ``benchmarks.setup`` and the runner say the same thing in the same
words, and so that the wording can be tested without running anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nullswap.upstream.spec import UpstreamSpec, WeightSpec


def setup_command(name: str) -> str:
    return f"python -m benchmarks.setup {name}"


def clone_command(spec: UpstreamSpec, checkout: Path) -> str:
    return f"git clone {spec.repo_url} {checkout} && git -C {checkout} checkout {spec.commit}"


def env_command(spec: UpstreamSpec, env_dir: Path) -> str:
    """The command that builds ``spec``'s environment at ``env_dir`` from its spec file."""
    if spec.env_kind == "conda":
        return f"conda env create -p {env_dir} -f {spec.env_spec_path}"
    return f"python{spec.python_version} -m venv {env_dir} && {env_dir}/bin/pip install -r {spec.env_spec_path}"


def missing_checkout(spec: UpstreamSpec, checkout: Path) -> str:
    return f"no checkout of {spec.repo_url} at {checkout}\n    fix: {clone_command(spec, checkout)}"


def wrong_commit(spec: UpstreamSpec, checkout: Path, head: str) -> str:
    return (
        f"{checkout} is at commit {head[:12]}, the pinned commit is {spec.commit}\n"
        f"    fix: git -C {checkout} fetch && git -C {checkout} checkout {spec.commit}\n"
        "    (or accept it as unpinned: adapter option accept_unpinned=true, recorded in every result)"
    )


def not_a_checkout(spec: UpstreamSpec, checkout: Path) -> str:
    return (
        f"{checkout} is not a git checkout of {spec.repo_url} (git rev-parse HEAD failed), so its commit "
        f"cannot be checked against the pinned {spec.commit}\n"
        f"    fix: {clone_command(spec, checkout)}\n"
        "    or, for a copy of the tree you vouch for, accept it as unpinned (adapter option "
        "accept_unpinned=true; every result then records the run as unpinned)"
    )


def missing_environment(spec: UpstreamSpec, python: Path) -> str:
    return (
        f"no {spec.env_kind} environment: {python} does not exist\n"
        f"    fix: {env_command(spec, python.parent.parent)}"
    )


def weight_message(checkout: Path, weight: WeightSpec, state: str = "absent") -> str:
    """The sentence a user sees for one missing weight file."""
    text = f"weight file {weight.path} ({state}) expected at {checkout / weight.path}\n    get it: {weight.url}"
    if weight.member:
        text += f" (member {weight.member})"
    if weight.modes:
        text += f" (needed in mode {', '.join(weight.modes)})"
    if weight.sha256:
        text += f"\n    sha256: {weight.sha256}"
    if weight.note:
        text += f"\n    note: {weight.note}"
    return text


def not_ready(spec: UpstreamSpec, problems: Sequence[str]) -> str:
    """The whole message of :class:`~nullswap.upstream.errors.UpstreamNotReady`."""
    lines = [f"upstream '{spec.name}' is not ready ({spec.repo_url} @ {spec.commit}):"]
    lines += [f"  - {p}" for p in problems]
    lines.append(
        f"  run `{setup_command(spec.name)}` to build what can be built here"
        " (it clones, builds the environment and fetches what has a public link)."
    )
    if spec.licence:
        lines.append(f"  licence: {spec.licence}")
    return "\n".join(lines)


def weights_boundary(name: str, message: str, log_path: Path) -> str:
    """The driver itself stopped because a weight file is missing."""
    return (
        f"upstream '{name}' stopped at the weights boundary:\n{message}\n"
        f"run `{setup_command(name)}` for how to get it; log: {log_path}"
    )
