"""A protector's options: declared once beside its class, overridden by its config and by the run.

Three layers, each overriding the one before:

1. the class: the keyword defaults of ``__init__`` and, for upstream adapters, the driver options in
   ``default_options`` (:func:`declared_defaults`) — the one place a default is written;
2. ``nullswap/conf/protector/<name>.yaml``: ``name`` plus only what a table column uses *differently*
   from the class (a test keeps these files free of repeated defaults);
3. the run: ``protector_options.<name>.<key>=…``.

Run-level settings (``seed``, ``device``, ``run_dir``) are not options of a column: the table runner
hands its own to every protector that accepts them.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping
from pathlib import Path

from omegaconf import OmegaConf

from nullswap.provenance import REPO_ROOT

CONF_DIR = REPO_ROOT / "nullswap" / "conf" / "protector"
#: constructor arguments the runner sets for every protector; never part of a column's options
RUN_LEVEL = frozenset({"seed", "device", "run_dir"})


def config_path(name: str) -> Path:
    return CONF_DIR / f"{name}.yaml"


def declared_defaults(name: str) -> dict[str, object]:
    """What protector ``name`` runs with when nothing overrides it, as its class declares it.

    The keyword defaults of its constructor (less :data:`RUN_LEVEL`) and its ``default_options``;
    ``{}`` for a name no adapter registers (a test's own protector).  Read from the class each time (a
    signature costs microseconds), so a protector registered later is never answered from a stale copy."""
    import baselines

    if name not in baselines.available():
        return {}
    factory = baselines.REGISTRY.get(name)
    defaults: dict[str, object] = {}
    for parameter in inspect.signature(factory).parameters.values():
        if parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL) or parameter.name in RUN_LEVEL:
            continue
        if parameter.default is not parameter.empty:
            defaults[parameter.name] = parameter.default
    defaults.update(dict(getattr(factory, "default_options", {}) or {}))
    return copy.deepcopy(defaults)


def config_overrides(name: str, conf_dir: str | Path | None = None) -> dict[str, object]:
    """The options in ``<conf_dir>/<name>.yaml`` without ``name`` (``{}`` when there is no file)."""
    path = (Path(conf_dir) if conf_dir is not None else CONF_DIR) / f"{name}.yaml"
    if not path.is_file():
        return {}
    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if cfg is None:
        return {}
    if not isinstance(cfg, dict) or cfg.get("name", name) != name:
        raise ValueError(f"{path}: expected a mapping with name: {name}")
    return {k: v for k, v in cfg.items() if k != "name"}


def protector_options(
    name: str, overrides: Mapping[str, object] | None = None, conf_dir: str | Path | None = None
) -> dict[str, object]:
    """The config file's overrides, then the run's: what ``baselines.load(name, **…)`` gets on top of the
    class's own defaults."""
    return {**config_overrides(name, conf_dir), **dict(overrides or {})}
