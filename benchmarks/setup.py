"""Build what an upstream system needs: ``python -m benchmarks.setup NAME [NAME ...]``.

For each upstream (a baseline or a face swapper whose registered adapter class names an ``UpstreamSpec``
in its ``spec`` attribute; both adapter registries are asked):

1. clone the repository and check out the pinned commit into ``$NULLSWAP_HOME/upstream/NAME/checkout``;
2. build its environment from the adapter's spec file (``baselines/envs/…``, ``swappers/envs/…``: a venv
   with the stated Python, or a conda prefix);
3. fetch every weight file that has a public link (direct, zip, or Google Drive through gdown) into the
   place the upstream code expects it inside the checkout.

Whatever cannot be done here — no internet, no interpreter of the right version, no conda, a link that
needs a browser — is printed as one line per missing piece naming the URL, the file and the command, and
the exit status is non-zero.  ``--check`` only reports.  ``--list`` names every known upstream.

Each upstream's report also says which GPUs its pinned environment runs on (A100 sm_80, H100/H200 sm_90;
``--gpus`` prints the table for all of them, ``benchmarks.environments``).  ``--env modern`` builds the
**modern** variant instead (torch 2.x, ``<root>/NAME/env-modern``), where one is shipped: only for upstreams
whose code a rehearsal has run under torch 2.x.  Its results are labelled as not made in the pinned
environment (``swappers.load(NAME, environment="modern")``; the environment's marker file says which variant
it is).  Weight files that only other driver options need (``WeightSpec.when``) are listed as optional.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from benchmarks import environments
from nullswap.assets import AssetError, download
from nullswap.upstream import ExternalRunner, UpstreamSpec, WeightSpec, weight_message
from nullswap.upstream import environment as upstream_env
from nullswap.upstream.layout import UpstreamLayout, env_override_name

GIT_TIMEOUT = 600


def _run(command: list[str], cwd: Path | None = None, timeout: float = 3600) -> tuple[bool, str]:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    try:
        proc = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    output = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode == 0, "\n".join(output[-6:])


def known_upstreams() -> dict[str, UpstreamSpec]:
    """Every upstream an adapter names, by asking the protector and the swapper registries.

    An adapter class declares its upstream as ``spec``; a name claimed by two different specs is an error."""
    import baselines
    import swappers

    specs: dict[str, UpstreamSpec] = {}
    for registry in (baselines.REGISTRY, swappers.REGISTRY):
        for name in registry.available():
            spec = getattr(registry.get(name), "spec", None)
            if not isinstance(spec, UpstreamSpec):
                continue
            if spec.name in specs and specs[spec.name] != spec:
                raise ValueError(f"upstream '{spec.name}' is described twice with different specs")
            specs[spec.name] = spec
    return dict(sorted(specs.items()))


def default_options(name: str) -> dict[str, object]:
    """The driver options an upstream's adapter runs with by default (``{}`` when no adapter declares any)."""
    import baselines
    import swappers

    for registry in (baselines.REGISTRY, swappers.REGISTRY):
        if name in registry.available():
            return dict(getattr(registry.get(name), "default_options", {}) or {})
    return {}


def planned_weights(spec: UpstreamSpec, options: dict[str, object]) -> tuple[list[WeightSpec], list[WeightSpec]]:
    """(the files a run with ``options`` loads — every mode's —, the files only other options need)."""
    needed, optional = [], []
    for weight in spec.weights:
        if all(key in options and options[key] == value for key, value in weight.when.items()):
            try:
                needed.append(weight.resolved(options))
                continue
            except KeyError:  # a placeholder that no default fills
                pass
        optional.append(weight)
    return needed, optional


#: conda's cross-compiler names, linked under their plain names in an environment that compiles CUDA ops
COMPILERS = {"gcc": "-gcc", "g++": "-g++", "c++": "-c++"}


def link_compilers(env_dir: Path) -> list[str]:
    """Give conda's ``x86_64-conda*-linux-gnu-gcc/g++`` their plain names in ``env_dir/bin``.

    torch's extension builder calls ``c++`` and nvcc looks for ``gcc``/``g++`` on PATH; the runner puts the
    environment's ``bin/`` first, so these links make both use the compiler the environment pins (the one its
    nvcc accepts) instead of the host's, which is usually too new.  Returns the links made."""
    made = []
    bin_dir = env_dir / "bin"
    for plain, suffix in COMPILERS.items():
        if (bin_dir / plain).exists():
            continue
        found = sorted(p for p in bin_dir.glob(f"x86_64-conda*-linux-gnu{suffix}") if p.is_file())
        if found:
            (bin_dir / plain).symlink_to(found[0].name)
            made.append(f"{plain} -> {found[0].name}")
    return made


def python_version_of(spec_path: Path, default: str) -> str:
    """The Python a venv spec asks for: a ``# python_version: X.Y`` line, else ``default``."""
    if not spec_path.is_file():
        return default
    for line in spec_path.read_text().splitlines():
        if line.startswith("# python_version:"):
            return line.split(":", 1)[1].strip()
    return default


class Setup:
    """One upstream's setup; collects a problem line for everything it could not do."""

    def __init__(self, spec: UpstreamSpec, root: Path | None, check_only: bool, variant: str = "pinned") -> None:
        self.spec = spec
        self.variant = variant
        self.spec_path = upstream_env.spec_file(spec, variant)
        home = UpstreamLayout.resolve(spec.name, root).home
        python = None if variant == "pinned" else upstream_env.env_dir(home, variant) / "bin" / "python"
        self.runner = ExternalRunner(spec, root, python=python)
        self.check_only = check_only
        self.problems: list[str] = []
        self.done: list[str] = []
        self.notes: list[str] = []

    # ---- 1. checkout ---------------------------------------------------------------------------
    def checkout(self) -> None:
        spec, dest = self.spec, self.runner.checkout
        clone = f"git clone {spec.repo_url} {dest} && git -C {dest} checkout --detach {spec.commit}"
        if not dest.exists():
            if self.check_only:
                self.problems.append(f"checkout missing: {dest}\n    command: {clone}")
                return
            dest.parent.mkdir(parents=True, exist_ok=True)
            ok, out = _run(["git", "clone", "--no-checkout", spec.repo_url, str(dest)], timeout=GIT_TIMEOUT)
            if not ok:
                shutil.rmtree(dest, ignore_errors=True)
                self.problems.append(
                    f"could not clone {spec.repo_url} (no internet?): {out}\n"
                    f"    on a machine with internet: {clone}\n"
                    f"    or copy an existing clone there, or set {env_override_name(spec.name, 'CHECKOUT')}"
                )
                return
        head = self.runner.checkout_commit()
        if head is not None and head.startswith(spec.commit):
            self.done.append(f"checkout {dest} at {spec.commit}")
            return
        fix = f"git -C {dest} fetch origin && git -C {dest} checkout --detach {spec.commit}"
        if self.check_only:
            self.problems.append(
                f"checkout {dest} is at {head or 'no commit'}, pinned {spec.commit}\n    command: {fix}"
            )
            return
        ok, out = _run(["git", "-C", str(dest), "checkout", "--detach", spec.commit], timeout=GIT_TIMEOUT)
        if not ok:
            ok, out = _run(["git", "-C", str(dest), "fetch", "origin"], timeout=GIT_TIMEOUT)
            ok = ok and _run(["git", "-C", str(dest), "checkout", "--detach", spec.commit])[0]
        if ok:
            self.done.append(f"checkout {dest} at {spec.commit}")
        else:
            self.problems.append(f"could not check out {spec.commit} in {dest}: {out}\n    command: {fix}")

    # ---- 2. environment ------------------------------------------------------------------------
    def environment(self) -> None:
        runner, spec = self.runner, self.spec
        if self.spec_path is None:
            self.problems.append(f"no '{self.variant}' environment is provided for {spec.name}: "
                                 f"{environments.pinned(spec.name).modern if environments.pinned(spec.name) else ''}")
            return
        env_dir = runner.python.parent.parent
        kind = "conda" if self.spec_path.suffix in (".yaml", ".yml") else "venv"
        version = python_version_of(self.spec_path, spec.python_version) if kind == "venv" else spec.python_version
        command = (f"conda env create -p {env_dir} -f {self.spec_path}" if kind == "conda" else
                   f"python{version} -m venv {env_dir} && {env_dir}/bin/pip install -r {self.spec_path}")
        if self.variant == "pinned":
            command = runner.env_command()
        if runner.python.is_file():
            self.done.append(f"environment {runner.python} ({self.variant})")
            self._finish(env_dir)
            return
        if self.check_only:
            self.problems.append(f"environment missing: {runner.python}\n    command: {command}")
            return
        if kind == "conda":
            conda = shutil.which("mamba") or shutil.which("conda")
            if conda is None:
                self.problems.append(
                    f"no conda (or mamba) on PATH to build {env_dir}\n    install Miniforge, then: {command}"
                )
                return
            ok, out = _run([conda, "env", "create", "-p", str(env_dir), "-f", str(self.spec_path)])
        else:
            interpreter = shutil.which(f"python{version}")
            if interpreter is None:
                self.problems.append(
                    f"no python{version} on PATH to build {env_dir}\n"
                    f"    install Python {version}, then: {command}"
                )
                return
            ok, out = _run([interpreter, "-m", "venv", str(env_dir)])
            if ok:
                ok, out = _run([str(env_dir / "bin" / "pip"), "install", "-r", str(self.spec_path)])
        if ok and runner.python.is_file():
            self.done.append(f"environment {runner.python} ({self.variant})")
            self._finish(env_dir)
        else:
            self.problems.append(f"building the environment failed: {out}\n    command: {command}")

    def _finish(self, env_dir: Path) -> None:
        """Mark the environment with its variant; link its pinned compilers where it builds CUDA ops."""
        if self.check_only:
            return
        if not (env_dir / upstream_env.MARKER).is_file():
            upstream_env.write_marker(env_dir, self.variant, self.spec, self.spec_path)
        if self.spec.builds_cuda_ops:
            for link in link_compilers(env_dir):
                self.done.append(f"compiler {link} in {env_dir / 'bin'}")

    # ---- 3. weights ----------------------------------------------------------------------------
    def weights(self) -> None:
        needed, optional = planned_weights(self.spec, default_options(self.spec.name))
        for weight in optional:
            condition = ", ".join(f"{k}={v}" for k, v in weight.when.items()) or "another option value"
            self.notes.append(f"optional (only with {condition}): {weight.path}  <- {weight.url}")
        if not self.runner.checkout.is_dir():
            for weight in needed:
                self.problems.append(weight_message(self.runner.checkout, weight, "checkout missing"))
            return
        for weight in needed:
            ok, state = self.runner.weight_ok(weight)
            if ok:
                self.done.append(f"weight {weight.path}: {state}")
                continue
            error = "" if self.check_only else self._fetch(weight)
            ok, state = self.runner.weight_ok(weight)
            if ok:
                self.done.append(f"weight {weight.path}: fetched, {state}")
            else:
                self.problems.append(
                    weight_message(self.runner.checkout, weight, state)
                    + (f"\n    automatic fetch failed: {error}" if error else "")
                )

    def _fetch(self, weight: WeightSpec) -> str:
        """Download ``weight`` into a staging folder and move it into place; returns an error or ''."""
        if weight.fetch == "manual":
            return "no automatic download for this file"
        staging = self.runner.layout.downloads / hashlib.sha1(weight.url.encode()).hexdigest()[:12]
        staging.mkdir(parents=True, exist_ok=True)
        try:
            if not any(staging.iterdir()):
                if weight.fetch == "gdrive":
                    import gdown

                    if "/folders/" in weight.url:
                        gdown.download_folder(weight.url, output=str(staging), quiet=True)
                    else:
                        gdown.download(weight.url, output=str(staging) + os.sep, quiet=True, fuzzy=True)
                else:
                    name = weight.url.split("?")[0].rstrip("/").split("/")[-1] or "download"
                    download(weight.url, staging / name)
            for archive in list(staging.rglob("*.zip")):
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(archive.with_suffix(""))
        except (AssetError, OSError, ImportError, zipfile.BadZipFile, RuntimeError, ValueError) as exc:
            shutil.rmtree(staging, ignore_errors=True)
            return f"{type(exc).__name__}: {exc}"
        wanted = weight.member or Path(weight.path).name
        found = [p for p in staging.rglob("*") if p.is_file() and p.as_posix().endswith(wanted)]
        if not found:
            return f"downloaded {weight.url} but found no {wanted} in it (see {staging})"
        dest = self.runner.checkout / weight.path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(found[0], dest)
        return ""

    def run(self) -> bool:
        self.checkout()
        self.environment()
        self.weights()
        return not self.problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.setup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("names", nargs="*", help="upstream names (see --list)")
    parser.add_argument("--root", type=Path, default=None, help="default: $NULLSWAP_HOME/upstream")
    parser.add_argument("--check", action="store_true", help="only report what is missing")
    parser.add_argument("--list", action="store_true", help="list the known upstreams")
    parser.add_argument("--env", choices=upstream_env.VARIANTS, default="pinned",
                        help="which environment to build: the pinned one (default) or the modern variant")
    parser.add_argument("--gpus", action="store_true", help="print which GPUs each environment runs on")
    args = parser.parse_args(argv)
    specs = known_upstreams()
    if args.gpus:
        print(environments.markdown())
        return 0
    if args.list or not args.names:
        for spec in specs.values():
            print(f"{spec.name:14s} {spec.repo_url} @ {spec.commit[:7]}  ({spec.env_kind}: {spec.env_spec_path.name})")
        return 0 if args.list else 2
    unknown = [n for n in args.names if n not in specs]
    if unknown:
        print(f"unknown upstream(s): {', '.join(unknown)}; known: {', '.join(specs)}", file=sys.stderr)
        return 2
    failed = 0
    for name in args.names:
        setup = Setup(specs[name], args.root, args.check, args.env)
        ok = setup.run()
        label = "" if args.env == "pinned" else f" [{args.env} environment, NOT the pinned one]"
        print(f"== {name}: {'ready' if ok else 'NOT READY'}{label}  ({specs[name].repo_url} @ {specs[name].commit})")
        for line in setup.done:
            print(f"  ok       {line}")
        for line in setup.problems:
            print(f"  MISSING  {line}")
        for line in setup.notes:
            print(f"  note     {line}")
        print(f"  {environments.gpu_line(name)}")
        print(f"  {environments.modern_line(name)}")
        if specs[name].licence:
            print(f"  licence: {specs[name].licence}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
