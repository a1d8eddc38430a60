"""Rehearsal builder for Initiative Defense: a random-weight perturbation generator where upstream loads it.

The upstream's test code builds ``model.Attackmodel()`` and loads the state dict
``checkpoints/30000-PG-005.ckpt`` (solver.py); training saves ``PG.module.state_dict()``, a plain state
dict.  This builds the same class with random initial weights (seeded) and saves its state dict there.

A random generator's output is tiny (|PG(x)| ~ 0.03), so ``eps * PG(x)`` would round back to the input
on the uint8 grid and a rehearsal could not tell a protection from none.  The gain of the generator's
last layer (the BatchNorm after its 1x1 convolution, ``conv_last[1]``) is therefore scaled by
``GAIN``, so that its tanh output saturates near +-1 as a trained generator's does: the change then
reaches the method's full +-eps and survives uint8.  That is the only departure from PyTorch's
initialisation, and it is recorded in the report.
"""

import torch
from builder_protocol import arguments, parent, report

GAIN = 1000.0


def main():
    options, _, report_path = arguments()
    from model import Attackmodel  # the upstream's class, from the checkout on sys.path

    torch.manual_seed(0)
    generator = Attackmodel()
    with torch.no_grad():
        generator.conv_last[1].weight.mul_(GAIN)
    path = options.get("checkpoint", "checkpoints/30000-PG-005.ckpt")
    torch.save(generator.state_dict(), parent(path))
    report(report_path, [path], model="model.Attackmodel", format="state dict",
           last_layer_gain=GAIN, torch=torch.__version__)


if __name__ == "__main__":
    main()
