"""Train NullSwap (``python -m nullswap.train``, configured by Hydra from ``nullswap/conf/train.yaml``).

One iteration: the generator cloaks a batch; the discriminator takes a step on clean vs cloaked
(Eq. 10); the generator takes a step on Eq. 13, whose identity term is weighted across any number of
recognizers by DLW (or ``mean``/``single`` for the ablation sessions).

Runs are reproducible and resumable: batch order and augmentation come from generators seeded by
(seed, epoch) and (seed, step), the global RNG state is checkpointed, and ``resume=true`` continues a
run exactly where its last checkpoint stopped (a test checks that the weights equal an uninterrupted
run's).  Checkpoints are written atomically every ``train.checkpoint_every`` steps.  On CUDA the
forward passes run under autocast (bf16 where supported, else fp16 with a gradient scaler); launched
by ``torchrun`` with several processes the generator and discriminator train under
DistributedDataParallel and the DLW inputs are averaged over processes.

Examples::

    python -m nullswap.train                                    # offline default (sample faces)
    python -m nullswap.train train.steps=200 model.head=direct  # any option from the config
    python -m nullswap.train run_dir=runs/x resume=true         # continue an interrupted run
    torchrun --nproc_per_node 8 -m nullswap.train experiment=paper
    python -m nullswap.train experiment=paper train.epochs=null train.steps=20   # by steps, not epochs

A run's length is ``train.steps`` or ``train.epochs`` (× steps per epoch), never both: the paper's
setting counts epochs, so ``experiment=paper train.steps=N`` is refused with the fix
(``train.epochs=null``) rather than silently training 60 epochs.  Weight files marked as stand-ins
(:mod:`nullswap.standin`) are refused unless ``rehearsal=true``; a checkpoint records what it was trained
on (data set and size, steps, every weight file's status), so the tables can say whether a NullSwap
column is the paper's.
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import hydra
import numpy as np
import torch
import torch.distributed as dist
from omegaconf import DictConfig, OmegaConf
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from nullswap import recognizers as recognizer_registry
from nullswap import standin
from nullswap.atomic import atomic_path
from nullswap.augment import AttackerTransform, RobustConfig
from nullswap.checkpoint import CHECKPOINT_FORMAT, build_discriminator, build_generator, cloak_at_resolution
from nullswap.data.base import FaceSet
from nullswap.dlw import DLWConfig, LossWeighting
from nullswap.images import from_uint8, psnr_per_image, to_uint8
from nullswap.losses import LossConfig, NullSwapObjective, PsnrDualAscent, discriminator_loss
from nullswap.model import count_parameters
from nullswap.perceptual import load_perceptual
from nullswap.runtime import all_rng_states, resolve_device, restore_rank_rng, seed_everything

CONFIG_MODULE = "nullswap.conf"


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------
def load_faces(data_cfg: DictConfig, split: str) -> FaceSet:
    """The training or held-out faces named by the ``data`` config group."""
    from nullswap.data.load import load_dataset

    return load_dataset(data_cfg, split=split)


def save_atomic(obj: object, path: Path) -> None:
    with atomic_path(path) as temporary:
        torch.save(obj, temporary)


class BatchSchedule:
    """Deterministic batches: a permutation per epoch from a generator seeded by (seed, epoch), so
    step ``s`` always sees the same images whether or not the run was interrupted before it."""

    def __init__(self, size: int, batch_size: int, seed: int) -> None:
        if size < batch_size:
            raise ValueError(f"the training set has {size} faces, fewer than one batch of {batch_size}")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.steps_per_epoch = size // batch_size

    def indices(self, step: int) -> tuple[int, torch.Tensor]:
        epoch, position = divmod(step, self.steps_per_epoch)
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(self.size, generator=generator)
        return epoch, order[position * self.batch_size : (position + 1) * self.batch_size]

    def flips(self, step: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + step)
        return torch.rand(self.batch_size, generator=generator) < 0.5


# ----------------------------------------------------------------------------------------------
# Distributed helpers
# ----------------------------------------------------------------------------------------------
class Distributed:
    """World information; a no-op when not launched by ``torchrun``."""

    def __init__(self, device_name: str) -> None:
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world_size > 1
        device = resolve_device(device_name)
        if self.enabled:
            if device.type == "cuda":
                torch.cuda.set_device(self.local_rank)
                device = torch.device("cuda", self.local_rank)
            if not dist.is_initialized():
                dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        self.device = device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mean(self, values: Sequence[float]) -> list[float]:
        if not self.enabled:
            return list(values)
        tensor = torch.tensor(list(values), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return (tensor / self.world_size).tolist()

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


# ----------------------------------------------------------------------------------------------
# Logging
# ----------------------------------------------------------------------------------------------
class CsvLog:
    """Append-only CSV whose rows after a resume point are dropped first (no duplicate steps)."""

    def __init__(self, path: Path, columns: list[str], resume_step: int | None) -> None:
        self.path, self.columns = path, columns
        if resume_step is not None and path.exists():
            with open(path, newline="") as handle:
                rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= resume_step]
            self._rewrite(rows)
        elif not path.exists() or resume_step is None:
            self._rewrite([])

    def _rewrite(self, rows: list[dict]) -> None:
        with atomic_path(self.path) as temporary, open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: dict) -> None:
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self.columns, extrasaction="ignore").writerow(row)


def _tensorboard(run_dir: Path, enabled: bool):
    if not enabled:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # pragma: no cover - tensorboard is a declared dependency
        return None
    return SummaryWriter(str(run_dir / "tensorboard"))


#: ``train.cache_clean_embeddings: auto`` keeps every (face, flip) embedding up to this many faces
CLEAN_CACHE_AUTO_FACES = 2048


def clean_cache_enabled(setting: object, n_faces: int) -> bool:
    """Whether to reuse clean embeddings across steps: ``true``/``false``, or ``auto`` (training sets of
    at most :data:`CLEAN_CACHE_AUTO_FACES` faces, where an epoch is a few steps and the cache stays small)."""
    if isinstance(setting, str) and setting.lower() == "auto":
        return n_faces <= CLEAN_CACHE_AUTO_FACES
    if isinstance(setting, bool):
        return setting
    raise ValueError(f"train.cache_clean_embeddings must be true, false or auto, got {setting!r}")


def planned_steps(train_cfg: DictConfig | dict, steps_per_epoch: int | None = None) -> int:
    """How many steps a run takes: ``train.steps``, or ``train.epochs`` × ``steps_per_epoch``.

    Exactly one of the two may be set: ``experiment=paper`` counts epochs, and a ``train.steps=N`` given
    beside it used to be ignored without a word.  Called with ``steps_per_epoch=None`` it only checks."""
    steps, epochs = train_cfg.get("steps"), train_cfg.get("epochs")
    if steps is not None and epochs not in (None, 0):
        raise ValueError(
            f"train.steps={steps} and train.epochs={epochs} are both set (experiment=paper counts epochs); "
            f"set one: add train.epochs=null to train {steps} steps, or train.steps=null to train {epochs} epochs"
        )
    if epochs not in (None, 0):
        return int(epochs) * int(steps_per_epoch or 0)
    if steps is None:
        raise ValueError("set train.steps=N or train.epochs=N (both are null)")
    return int(steps)


# ----------------------------------------------------------------------------------------------
# The trainer
# ----------------------------------------------------------------------------------------------
class Trainer:
    def __init__(self, cfg: DictConfig, run_dir: Path) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        self.world = Distributed(cfg.device)
        self.device = self.world.device
        tcfg = cfg.train
        planned_steps(tcfg)  # refuse steps + epochs before loading anything
        seed_everything(int(cfg.seed) + self.world.rank)
        self.rehearsal = bool(cfg.get("rehearsal", False))

        self.faces = load_faces(cfg.data, split=cfg.data.get("split", "train"))
        held_out = cfg.train.get("eval_split", "test")
        self.eval_faces = load_faces(cfg.data, split=held_out) if held_out else None
        if tcfg.batch_size % self.world.world_size:
            raise ValueError("train.batch_size must be divisible by the number of processes")
        self.schedule = BatchSchedule(len(self.faces), int(tcfg.batch_size), int(cfg.seed))
        self.total_steps = planned_steps(tcfg, self.schedule.steps_per_epoch)

        self.generator = build_generator(cfg.model).to(self.device)
        self.discriminator = build_discriminator(cfg.model).to(self.device)
        self.recognizer_names = list(cfg.recognizers)
        self.recognizers = [recognizer_registry.load(name, device=str(self.device)) for name in self.recognizer_names]
        self.eval_recognizer_names = [n for n in cfg.get("eval_recognizers", []) if n not in self.recognizer_names]
        self._eval_models: list[torch.nn.Module] | None = None  # loaded once, at the first evaluation
        self.weighting = LossWeighting(len(self.recognizers), DLWConfig.from_dict(OmegaConf.to_container(cfg.dlw)))
        loss_cfg = LossConfig.from_dict(OmegaConf.to_container(cfg.loss))
        perceptual = None if loss_cfg.perceptual == "none" else load_perceptual(loss_cfg.perceptual).to(self.device)
        self.weight_files = {name: model.describe().get("weight_files", {})
                             for name, model in zip(self.recognizer_names, self.recognizers)}
        if perceptual is not None:
            self.weight_files[f"perceptual:{loss_cfg.perceptual}"] = perceptual.describe().get("weight_files", {})
        self.standins = standin.refuse_unless_rehearsal(standin.reasons(self.weight_files), "training",
                                                        self.rehearsal)
        robust = RobustConfig.from_dict(OmegaConf.to_container(tcfg.robust) if tcfg.get("robust") else None)
        transform = AttackerTransform(robust) if robust.enabled else None
        self.objective = NullSwapObjective(self.recognizers, self.weighting, loss_cfg, perceptual, transform)
        if clean_cache_enabled(tcfg.get("cache_clean_embeddings", "auto"), len(self.faces)):
            self.objective.enable_clean_cache()
        self.dual = PsnrDualAscent(loss_cfg.target_psnr, loss_cfg.dual_lr) if loss_cfg.target_psnr else None

        betas = tuple(tcfg.betas)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=float(tcfg.lr_generator), betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=float(tcfg.lr_discriminator), betas=betas)

        self.amp_dtype = self._amp_dtype(str(tcfg.amp))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)

        self.g_train = self.generator
        self.d_train = self.discriminator
        if self.world.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g_train = DistributedDataParallel(self.generator, device_ids=ids)
            self.d_train = DistributedDataParallel(self.discriminator, device_ids=ids)
        self.step = 0

    def _amp_dtype(self, amp: str) -> torch.dtype | None:
        if self.device.type != "cuda" or amp in ("false", "False", "off", "none"):
            return None
        if amp in ("bf16", "auto") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16

    def _autocast(self):
        if self.amp_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast("cuda", dtype=self.amp_dtype)

    # -- checkpoints ----------------------------------------------------------------------------
    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / "checkpoints" / "last.pt"

    def checkpoint(self) -> dict:
        """Everything ``resume=true`` needs.  Collective under DDP (every rank's RNG state is gathered)."""
        rng = all_rng_states()
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "epoch": self.step // self.schedule.steps_per_epoch,
            "config": OmegaConf.to_container(self.cfg, resolve=True),
            "recognizers": self.recognizer_names,
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "dlw": self.weighting.state_dict(),
            "dual": self.dual.state_dict() if self.dual is not None else None,
            "rng": rng[self.world.rank],
            "rng_per_rank": rng,
            "training": self.training_record(),
        }

    def training_record(self) -> dict:
        """What this run trains on, kept in every checkpoint (and in the shippable generator file)."""
        return {
            "total_steps": self.total_steps,
            "steps_per_epoch": self.schedule.steps_per_epoch,
            "data": {"name": self.faces.name, "n_images": len(self.faces),
                     "n_identities": len(set(self.faces.identities)),
                     "split": self.cfg.data.get("split", "train")},
            "eval_split": self.cfg.train.get("eval_split"),
            "weight_files": self.weight_files,
            "rehearsal": self.rehearsal,
        }

    def save(self) -> None:
        state = self.checkpoint()
        if self.world.is_main:
            save_atomic(state, self.checkpoint_path)
        self.world.barrier()

    def restore(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=True)
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a NullSwap training checkpoint")
        if list(state["recognizers"]) != self.recognizer_names:
            raise ValueError(
                f"{path} was trained against {state['recognizers']}, this run asks for {self.recognizer_names}"
            )
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.scaler.load_state_dict(state["scaler"])
        self.weighting.load_state_dict(state["dlw"])
        if self.dual is not None and state.get("dual"):
            self.dual.load_state_dict(state["dual"])
        restore_rank_rng(state, self.world.rank, self.world.world_size, int(self.cfg.seed))
        self.step = int(state["step"])

    # -- one iteration --------------------------------------------------------------------------
    def batch(self, step: int) -> tuple[int, torch.Tensor, list[tuple[int, bool]]]:
        """This process's share of the step's batch, and a key per image naming its content
        (face index, flipped) for the clean-embedding cache."""
        epoch, indices = self.schedule.indices(step)
        flips = self.schedule.flips(step)
        per_rank = len(indices) // self.world.world_size
        mine = slice(self.world.rank * per_rank, (self.world.rank + 1) * per_rank)
        images = self.faces.tensor(indices[mine].tolist())
        flipped = [False] * len(images)
        if self.cfg.train.get("flip", True):
            chosen = flips[mine]
            images[chosen] = images[chosen].flip(-1)
            flipped = [bool(f) for f in chosen]
        keys = [(int(i), f) for i, f in zip(indices[mine].tolist(), flipped)]
        resolution = int(self.cfg.train.get("resolution", images.shape[-1]))
        if resolution != images.shape[-1]:
            images = torch.nn.functional.interpolate(images, size=resolution, mode="bilinear",
                                                     antialias=True, align_corners=False)
        return epoch, images.to(self.device, non_blocking=True), keys

    def train_step(self, step: int) -> dict[str, float]:
        epoch, clean, keys = self.batch(step)
        self.weighting.set_epoch(epoch)
        self.generator.train()
        self.discriminator.train()

        with self._autocast():
            cloaked = self.g_train(clean)
        # Discriminator step (Eq. 10).
        self.opt_d.zero_grad(set_to_none=True)
        with self._autocast():
            d_loss = discriminator_loss(self.d_train(clean), self.d_train(cloaked.detach()))
        self.scaler.scale(d_loss).backward()
        self.scaler.step(self.opt_d)
        # Generator step (Eq. 13).
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            fake_logits = self.d_train(cloaked)
            multiplier = self.dual.multiplier if self.dual is not None else 1.0
            g_loss, logs = self.objective(clean, cloaked.float(), fake_logits.float(), self.world.mean, multiplier,
                                          keys=keys)
        self.scaler.scale(g_loss).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()

        batch_psnr = float(np.mean(self.world.mean([float(psnr_per_image(to_uint8(clean), to_uint8(cloaked)).mean())])))
        if self.dual is not None:
            self.dual.update(batch_psnr)
        logs.update({"step": step + 1, "epoch": epoch, "loss_disc": d_loss.item(), "batch_psnr": batch_psnr})
        return logs

    # -- held-out evaluation --------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        if self.eval_faces is None or len(self.eval_faces) == 0:
            return {}
        limit = int(self.cfg.train.get("eval_faces", 16))
        clean = self.eval_faces.tensor(slice(0, limit)).to(self.device)
        self.generator.eval()
        generator = torch.Generator(device=self.device).manual_seed(int(self.cfg.seed))
        resolution = int(self.cfg.train.get("resolution") or clean.shape[-1])
        # Exactly as the protector will cloak: in the training frame, the change brought back to 256.
        cloaked = torch.cat([cloak_at_resolution(self.generator, clean[i : i + 8], resolution, generator)
                             for i in range(0, len(clean), 8)])
        cloaked = from_uint8(to_uint8(cloaked)).to(self.device)
        row: dict[str, float] = {"step": self.step, "psnr": float(psnr_per_image(to_uint8(clean), to_uint8(cloaked)).mean())}
        names = self.recognizer_names + self.eval_recognizer_names
        models = self.recognizers + self.eval_models()
        for name, model in zip(names, models):
            cos = torch.nn.functional.cosine_similarity(model(clean), model(cloaked), dim=-1)
            row[f"id_cos/{name}"] = float(cos.mean())
        return row

    def eval_models(self) -> list[torch.nn.Module]:
        """The recognizers measured but never trained against, loaded (and their files hashed) once."""
        if self._eval_models is None:
            self._eval_models = [recognizer_registry.load(n, device=str(self.device))
                                 for n in self.eval_recognizer_names]
            files = {n: m.describe().get("weight_files", {}) for n, m in zip(self.eval_recognizer_names,
                                                                             self._eval_models)}
            self.standins += standin.refuse_unless_rehearsal(standin.reasons(files), "training-time evaluation",
                                                             self.rehearsal)
        return self._eval_models

    # -- the loop ---------------------------------------------------------------------------------
    def fit(self, resume: bool) -> Path:
        start_step: int | None = None
        if resume:
            if not self.checkpoint_path.exists():
                raise FileNotFoundError(f"resume=true but {self.checkpoint_path} does not exist")
            self.restore(self.checkpoint_path)
            start_step = self.step
        log_columns = ["step", "epoch", "loss_total", "loss_id", "loss_mse", "loss_lpips", "loss_adv",
                       "loss_disc", "batch_psnr", "mse_multiplier", "seconds"]
        log_columns += [f"id_cos/{n}" for n in self.recognizer_names]
        log_columns += [f"dlw_weight/{n}" for n in self.recognizer_names]
        eval_columns = ["step", "psnr"] + [f"id_cos/{n}" for n in self.recognizer_names + self.eval_recognizer_names]
        main = self.world.is_main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.yaml").write_text(OmegaConf.to_yaml(self.cfg))
            train_log = CsvLog(self.run_dir / "train_log.csv", log_columns, start_step)
            eval_log = CsvLog(self.run_dir / "eval_log.csv", eval_columns, start_step)
            writer = _tensorboard(self.run_dir, bool(self.cfg.train.get("tensorboard", True)))
            if self.standins:
                print(f"{standin.REHEARSAL_HEADER}: training with {standin.summary(self.standins)} "
                      "(rehearsal=true); this generator is rehearsal material only")
            epochs = self.cfg.train.get("epochs")
            length = (f"{epochs} epochs × {self.schedule.steps_per_epoch} steps" if epochs else "train.steps")
            print(f"NullSwap generator: {count_parameters(self.generator):,} parameters; discriminator: "
                  f"{count_parameters(self.discriminator):,}; recognizers: {', '.join(self.recognizer_names)}; "
                  f"{len(self.faces)} training faces; {self.total_steps} steps ({length}); device {self.device}"
                  + (f" (AMP {self.amp_dtype})" if self.amp_dtype else ""))
        if main and start_step is None:
            row = self.evaluate()
            if row:
                eval_log.write(row)
        every_ckpt = int(self.cfg.train.checkpoint_every)
        every_eval = int(self.cfg.train.get("eval_every", 0) or 0)
        bar = tqdm(range(self.step, self.total_steps), initial=self.step, total=self.total_steps,
                   desc="train", disable=not main or not self.cfg.train.get("progress", True), dynamic_ncols=True)
        started = time.time()
        for step in bar:
            logs = self.train_step(step)
            self.step = step + 1
            if main:
                logs["seconds"] = round(time.time() - started, 3)
                train_log.write(logs)
                if writer is not None:
                    for key, value in logs.items():
                        if key not in ("step", "epoch") and isinstance(value, float) and math.isfinite(value):
                            writer.add_scalar(key, value, self.step)
                bar.set_postfix(loss=f"{logs['loss_total']:.4f}", id=f"{logs['loss_id']:.3f}",
                                psnr=f"{logs['batch_psnr']:.1f}")
            if every_eval and main and (self.step % every_eval == 0 or self.step == self.total_steps):
                row = self.evaluate()
                if row:
                    eval_log.write(row)
                    if writer is not None:
                        for key, value in row.items():
                            if key != "step":
                                writer.add_scalar(f"eval/{key}", value, self.step)
            if self.step % every_ckpt == 0 or self.step == self.total_steps:
                self.save()
        if main and writer is not None:
            writer.close()
        if self.world.enabled:
            dist.destroy_process_group()
        return self.checkpoint_path


def default_run_dir(cfg: DictConfig) -> Path:
    if cfg.get("run_dir"):
        return Path(cfg.run_dir)
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        return Path(HydraConfig.get().runtime.output_dir)
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S")


def train(cfg: DictConfig) -> Path:
    """Train (or resume) the run described by ``cfg``; returns the path of its last checkpoint."""
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))
    trainer = Trainer(cfg, default_run_dir(cfg))
    return trainer.fit(resume=bool(cfg.get("resume", False)))


def compose(overrides: Sequence[str] = (), config_name: str = "train") -> DictConfig:
    """The training config with Hydra ``overrides`` applied, without running Hydra's app machinery."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=list(overrides))


def train_from_overrides(overrides: Sequence[str] = (), config_name: str = "train") -> Path:
    """Programmatic entry point (the Table 5 runner uses it): compose, train, return the checkpoint."""
    return train(compose(overrides, config_name))


@hydra.main(config_path="conf", config_name="train", version_base="1.3")
def main(cfg: DictConfig) -> None:
    path = train(cfg)
    print(f"checkpoint: {path}")


if __name__ == "__main__":
    main()
