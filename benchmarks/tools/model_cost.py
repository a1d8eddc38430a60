"""Size and CPU cost of the NullSwap generator: ``python -m benchmarks.tools.model_cost [model overrides]``.

Prints parameter counts and the forward (protect) and forward+backward (train) time per 256×256 image,
for the default architecture or any ``model.*`` override, e.g. ``python -m benchmarks.tools.model_cost width=32``.
"""

from __future__ import annotations

import sys
import time

import torch

from nullswap.model import Discriminator, ModelConfig, NullSwapGenerator, count_parameters


def measure(config: ModelConfig, batch: int = 4, size: int = 256, repeats: int = 3) -> dict[str, float]:
    torch.manual_seed(0)
    generator = NullSwapGenerator(config)
    images = torch.rand(batch, 3, size, size)
    generator.eval()
    with torch.no_grad():
        generator(images)
        started = time.perf_counter()
        for _ in range(repeats):
            generator(images)
    forward = (time.perf_counter() - started) / repeats / batch
    generator.train()
    generator(images).mean().backward()
    started = time.perf_counter()
    for _ in range(repeats):
        generator.zero_grad()
        generator(images).mean().backward()
    train = (time.perf_counter() - started) / repeats / batch
    return {"generator_parameters": count_parameters(generator),
            "discriminator_parameters": count_parameters(Discriminator(config.disc_width, config.disc_layers)),
            "forward_ms_per_image": forward * 1000, "forward_backward_ms_per_image": train * 1000}


def main(argv: list[str] | None = None) -> int:
    overrides = dict(arg.split("=", 1) for arg in (sys.argv[1:] if argv is None else argv))
    defaults = ModelConfig()
    values = {k: type(getattr(defaults, k))(v) if getattr(defaults, k) is not None else v for k, v in overrides.items()}
    config = ModelConfig.from_dict({**defaults.to_dict(), **values})
    result = measure(config)
    print(f"NullSwap generator (width {config.width}, L={config.id_blocks}, M={config.perturbation_blocks}, "
          f"N={config.feature_blocks}, head {config.head}); torch threads: {torch.get_num_threads()}")
    for key, value in result.items():
        print(f"  {key:32s} {value:,.1f}" if isinstance(value, float) else f"  {key:32s} {value:,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
