"""Seeds every Python process an upstream's chain starts: a driver whose upstream launches its own
interpreters (DiffSwap's ``pipeline.py`` starts its DDIM sampler through ``os.system`` and
``torch.distributed.launch``) puts this folder first on the chain's ``PYTHONPATH`` and the seed in
``NULLSWAP_CHAIN_SEED``. Python imports ``sitecustomize`` at start-up, so ``random`` is seeded at once, and numpy
and torch as soon as the process imports them (a process that never does pays nothing for them); nothing of the
upstream's code is changed. An environment's own ``sitecustomize``, which this one shadows, still runs.

Python 3.6 syntax and the standard library only: it runs in the upstream's environment.
"""

import importlib.machinery
import importlib.util
import os
import random
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_SEED = os.environ.get("NULLSWAP_CHAIN_SEED")


def _seed_module(name, module):
    if name == "numpy":
        module.random.seed(int(_SEED) % 2**32)
    elif name == "torch":
        module.manual_seed(int(_SEED))  # seeds every device's generator too


class _SeedOnImport:
    """Lets the usual finders find numpy and torch, and seeds each once it has been executed."""

    def __init__(self):
        self.pending = {"numpy", "torch"}

    def find_spec(self, name, path=None, target=None):
        if name not in self.pending:
            return None
        self.pending.discard(name)  # the lookup below no longer comes back here
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _seed_module(name, module)

        spec.loader.exec_module = exec_module
        return spec


def _run_shadowed_sitecustomize():
    others = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", others)
    if spec is not None and spec.loader is not None:
        spec.loader.exec_module(importlib.util.module_from_spec(spec))


if _SEED is not None:
    random.seed(int(_SEED))
    sys.meta_path.insert(0, _SeedOnImport())
_run_shadowed_sitecustomize()
