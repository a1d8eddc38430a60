"""Default options of each protector: ``nullswap/conf/protector/<name>.yaml``.

A protector's config file holds ``name`` plus keyword arguments of its class — the defaults a table
column uses unless the run overrides them (``protector_options.<name>.<key>=…``).  Run-level settings
(``seed``, ``device``) are deliberately absent: the table runner hands its own to every protector that
accepts them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from omegaconf import OmegaConf

from nullswap.provenance import REPO_ROOT

CONF_DIR = REPO_ROOT / "nullswap" / "conf" / "protector"


def config_path(name: str) -> Path:
    return CONF_DIR / f"{name}.yaml"


def protector_defaults(name: str, conf_dir: str | Path | None = None) -> dict[str, object]:
    """The options in ``<conf_dir>/<name>.yaml`` without ``name`` (``{}`` when there is no file)."""
    path = (Path(conf_dir) if conf_dir is not None else CONF_DIR) / f"{name}.yaml"
    if not path.is_file():
        return {}
    cfg = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if not isinstance(cfg, dict) or cfg.get("name", name) != name:
        raise ValueError(f"{path}: expected a mapping with name: {name}")
    return {k: v for k, v in cfg.items() if k != "name"}


def protector_options(
    name: str, overrides: Mapping[str, object] | None = None, conf_dir: str | Path | None = None
) -> dict[str, object]:
    """Defaults from the config file, then the run's overrides: what ``baselines.load(name, **…)`` gets."""
    return {**protector_defaults(name, conf_dir), **dict(overrides or {})}
