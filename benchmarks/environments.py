"""Which GPUs each upstream's environment can run on, and which upstreams have a ``modern`` variant.

The facts behind ``python -m benchmarks.setup NAME`` (its "GPUs" lines), ``python -m benchmarks.setup --gpus``
and the table of ``docs/upstream-environments.md``.  A pinned environment runs on a GPU only if its torch build
carries kernels for that GPU's architecture (and, for upstreams that compile CUDA ops at import, only if its
nvcc can target it): A100 is sm_80, H100 and H200 are sm_90.  The architecture lists are those PyTorch's
release builds of each pinned version were compiled for (``torch.cuda.get_arch_list()`` of that build); they
were not measured on a GPU here.  The project's own torch is read from the installed build.

A ``modern`` variant (torch 2.x; :mod:`nullswap.upstream.environment`) exists only for an upstream whose code a
rehearsal has run under torch 2.x; the others say why not.
"""

from __future__ import annotations

from dataclasses import dataclass

#: the GPUs users have, by the architecture their kernels must be built for
GPUS: tuple[tuple[str, str], ...] = (("A100", "sm_80"), ("H100/H200", "sm_90"))

_CU11 = ("sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86")  # torch 1.8 ... 1.12 with CUDA 11.1-11.3
_CU101 = ("sm_37", "sm_50", "sm_60", "sm_61", "sm_70", "sm_75")  # torch 1.4 with CUDA 10.1
_CU121 = ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")  # torch 2.2 with CUDA 12.1


@dataclass(frozen=True)
class Pinned:
    """An upstream's pinned environment as far as GPUs are concerned."""

    stack: str  # torch and CUDA of the pinned environment
    archs: tuple[str, ...]  # the architectures its torch build carries kernels for
    note: str = ""  # what else limits it (CUDA ops compiled by an old nvcc, ...)
    modern: str = ""  # the modern variant: what it is, or why there is none


def _project_torch() -> tuple[str, tuple[str, ...]]:
    """This project's torch and the architectures its build carries (it runs CMUA's perturbation in-process)."""
    import torch

    flags = torch._C._cuda_getArchFlags() if hasattr(torch._C, "_cuda_getArchFlags") else ""
    return f"torch {torch.__version__} (this project's environment)", tuple(sorted(set((flags or "").split())))


NO_TORCH2_REHEARSAL = "none: its code has not been run under torch 2.x (it needs a GPU: `make rehearse-gpu`)"

PINNED: dict[str, Pinned] = {
    "initiative": Pinned("torch 2.2.2, CUDA 12.1 (PyPI wheels)", _CU121, modern="not needed: the pinned environment is torch 2.2 / CUDA 12.1"),
    "antiforgery": Pinned("torch 2.2.2, CUDA 12.1 (PyPI wheels)", _CU121, modern="not needed: the pinned environment is torch 2.2 / CUDA 12.1"),
    "dfrap": Pinned(
        "torch 1.10.2+cu113", _CU11,
        modern="`--env modern`: torch 2.2.2, CUDA 12.1 (sm_50 ... sm_90; baselines/envs/dfrap.modern.conda.yaml); "
        "its `stargan` mode runs under torch 2.x in the CPU rehearsal, its `simswap` mode has not been run there",
    ),
    "simswap": Pinned("torch 1.8.0+cu111, onnxruntime-gpu 1.8.1 (CUDA 11.0)", _CU11, modern=NO_TORCH2_REHEARSAL),
    "infoswap": Pinned(
        "torch 1.4.0, CUDA 10.1", _CU101,
        note="CUDA 10.1 predates Ampere; its MTCNN picks cuda:0 whenever a GPU is visible",
        modern="`--env modern`: torch 2.14.1 (CUDA 13.0 wheels, sm_75 ... sm_120); its code runs there in "
        "tests/test_upstream_infoswap.py",
    ),
    "uniface": Pinned(
        "torch 1.4.0, CUDA 10.1 (nvcc 10.1 for its ops)", _CU101,
        note="its StyleGAN2 ops compile at import with nvcc 10.1, which cannot target sm_80 or sm_90",
        modern=NO_TORCH2_REHEARSAL,
    ),
    "e4s": Pinned(
        "torch 1.12.1+cu113 (nvcc 11.3 for its ops)", _CU11,
        note="its StyleGAN2 ops compile at import with nvcc 11.3, which cannot target sm_90",
        modern=NO_TORCH2_REHEARSAL,
    ),
    "diffswap": Pinned("torch 1.11.0, CUDA 11.3", _CU11, modern=NO_TORCH2_REHEARSAL),
}


def pinned(name: str) -> Pinned | None:
    """The GPU facts of upstream ``name`` (CMUA, which has no environment of its own, is this project's)."""
    if name == "cmua":
        stack, archs = _project_torch()
        return Pinned(stack, archs, note="no environment of its own: its published perturbation is applied here",
                      modern="not needed: it runs in this project's environment")
    return PINNED.get(name)


def supports(facts: Pinned, arch: str) -> bool:
    return arch in facts.archs


def gpu_line(name: str) -> str:
    """One line for ``benchmarks.setup NAME``: the pinned environment on each GPU."""
    facts = pinned(name)
    if facts is None:
        return "GPUs: not recorded for this upstream"
    cells = [f"{gpu} {arch} {'yes' if supports(facts, arch) else 'NO'}" for gpu, arch in GPUS]
    note = f" ({facts.note})" if facts.note else ""
    return f"GPUs, pinned environment ({facts.stack}): {'; '.join(cells)}{note}"


def modern_line(name: str) -> str:
    facts = pinned(name)
    return f"modern variant (not the pinned environment): {facts.modern if facts else 'not recorded'}"


def markdown(names: list[str] | None = None) -> str:
    """The environments table: one row per upstream."""
    names = names if names is not None else ["initiative", "antiforgery", "dfrap", "cmua", *[
        n for n in PINNED if n not in ("initiative", "antiforgery", "dfrap")]]
    header = ["upstream", "pinned environment", *[f"{gpu} ({arch})" for gpu, arch in GPUS], "modern variant"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        facts = pinned(name)
        if facts is None:
            continue
        cells = ["yes" if supports(facts, arch) else "**no**" for _, arch in GPUS]
        stack = facts.stack + (f"; {facts.note}" if facts.note else "")
        lines.append("| " + " | ".join([name, stack, *cells, facts.modern]) + " |")
    return "\n".join(lines)
