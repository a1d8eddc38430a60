"""The command lines the docs and configs show run as written: every example composes, and every
environment variable they name is one the code reads."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from benchmarks.cli import CONFIG_DIR, register_resolvers
from nullswap import weights
from nullswap.provenance import REPO_ROOT
from nullswap.train import compose, planned_steps

#: `python -m benchmarks.tableN ...` in a config's comments, up to the end of the line
BENCHMARK_EXAMPLE = re.compile(r"#\s+python -m benchmarks\.(table\d)\s*(.*?)\s*(?:\(.*\))?\s*$")


def benchmark_examples() -> list[tuple[str, str, list[str]]]:
    found = []
    for path in sorted(CONFIG_DIR.glob("table*.yaml")):
        for line in path.read_text().splitlines():
            match = BENCHMARK_EXAMPLE.match(line.strip())
            if match:
                found.append((path.name, match.group(1), shlex.split(match.group(2))))
    return found


@pytest.mark.parametrize(("source", "table", "overrides"), benchmark_examples(),
                         ids=[f"{s}:{' '.join(o)}" for s, _, o in benchmark_examples()])
def test_every_example_in_the_table_configs_composes(source, table, overrides):
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register_resolvers()
    GlobalHydra.instance().clear()
    sweep = "-m" in overrides
    # a sweep (-m a=x,y) is one job per value: the first stands for them all
    kept = [o.split(",")[0] if sweep and "," in o and "[" not in o else o for o in overrides if o != "-m"]
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name=table, overrides=kept)
    assert cfg.table == table


def test_the_table5_extra_overrides_example_reaches_the_sessions():
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from benchmarks.table5 import session_specs

    example = next(o for _, t, overrides in benchmark_examples() if t == "table5" for o in overrides
                   if o.startswith("train.extra="))
    register_resolvers()
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(config_name="table5", overrides=[example])
    plain = OmegaConf.to_container(cfg, resolve=False)
    plain["train"] = OmegaConf.to_container(cfg.train, resolve=True)
    spec = session_specs(plain)[0]
    assert "train.batch_size=64" in spec.options["train_overrides"]


def readme_training_examples() -> list[list[str]]:
    readme = (REPO_ROOT / "README.md").read_text()
    lines = [line.split("#")[0] for line in readme.splitlines() if line.startswith(".venv/bin/python -m nullswap.train")]
    return [shlex.split(line)[3:] for line in lines]


@pytest.mark.parametrize("overrides", readme_training_examples(), ids=lambda o: " ".join(o) or "default")
def test_every_training_example_in_the_readme_composes_to_a_run_length(overrides):
    cfg = compose([o for o in overrides if "=" in o])
    assert planned_steps(cfg.train, 94) > 0


def test_the_readme_says_how_to_count_steps_in_the_paper_setting():
    assert any("experiment=paper" in o and "train.epochs=null" in o and "train.steps=200" in o
               for o in map(" ".join, readme_training_examples()))


def test_every_weight_override_variable_the_docs_name_is_one_the_manifest_reads():
    documented = set()
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        documented |= set(re.findall(r"NULLSWAP_WEIGHT_([A-Z0-9_]+)", path.read_text()))
    assert documented, "the docs name no NULLSWAP_WEIGHT_<NAME> example"
    read = {entry.name.upper().replace("-", "_") for entry in weights.MANIFEST.values()}
    assert documented <= read, documented - read


def test_the_weight_override_is_read(tmp_path, monkeypatch):
    own = tmp_path / "mine.pth"
    own.write_bytes(b"my own copy")
    monkeypatch.setenv("NULLSWAP_WEIGHT_DEEPFACE_VGGFACE", str(own))
    assert weights.path("deepface_vggface") == own


def test_paths_in_config_comments_exist():
    base = (CONFIG_DIR / "base.yaml").read_text()
    assert "results/offline/generator.pt" in base and (REPO_ROOT / "results/offline/generator.pt").is_file()
    assert Path(REPO_ROOT / "nullswap" / "sanity.py").is_file() and "nullswap/sanity.py" in base
