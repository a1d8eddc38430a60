"""Driver for e4s2022/e4s @ d30bdc7: the upstream's ``faceSwapping_pipeline`` on each pair.

``scripts/face_swap.py`` keeps its models as module globals built in ``__main__``; the driver loads the
file as a module, builds them with the upstream's initialisers and sets those globals, then calls the
pipeline with the upstream's option parser.  Building the default face parser downloads torchvision's
ImageNet ResNet-18 through torch hub (``src/pretrained/face_parsing/resnet.py:11,82-83``); the adapter declares
that file as a weight under the checkout and points ``TORCH_HOME`` at it, so nothing is downloaded here.  Each
pair runs in its own guard; the scratch folder is removed at the end.  Python 3.6 syntax.
"""

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile

import numpy as np
from driver_protocol import Driver, seed_torch

WEIGHTS = [
    "pretrained_ckpts/e4s/iteration_300000.pt",
    "pretrained_ckpts/face_parsing/79999_iter.pth",
    "pretrained_ckpts/facevid2vid/00000189-checkpoint.pth.tar",
    "pretrained_ckpts/gpen/weights/GPEN-BFR-512.pth",
    "pretrained_ckpts/gpen/weights/realesrnet_x4.pth",
    "pretrained_ckpts/gpen/weights/RetinaFace-R50.pth",
    "pretrained_ckpts/gpen/weights/ParseNet-latest.pth",
]
#: torch hub's file for the face parser's ResNet-18 backbone, found through TORCH_HOME (set by the runner)
RESNET18 = os.path.join("hub", "checkpoints", "resnet18-5c106cde.pth")

with Driver() as drv:
    drv.require_weights(WEIGHTS, hint="run `python -m benchmarks.setup e4s` for where each file comes from")
    torch_home = os.environ.get("TORCH_HOME", "")
    if not os.path.isfile(os.path.join(torch_home, RESNET18)):
        raise RuntimeError(f"the face parser's ResNet-18 ({RESNET18}) is not under TORCH_HOME={torch_home!r}: the upstream would "
                           "download it; run `python -m benchmarks.setup e4s`")
    import torch
    from PIL import Image

    if not torch.cuda.is_available():
        raise RuntimeError("E4S's pipeline builds its models on cuda:0: this driver needs a CUDA GPU")
    seed_torch(torch, drv.seed)
    if drv.options["face_parser"] != "default":
        raise ValueError("only the upstream's default face parser is wired in this driver")
    scratch = tempfile.mkdtemp(prefix="e4s-")
    atexit.register(shutil.rmtree, scratch, True)  # removed however the driver ends (loading the models can fail)
    sys.argv = ["face_swap.py", "--output_dir", scratch]
    spec = importlib.util.spec_from_file_location("e4s_face_swap", os.path.join("scripts", "face_swap.py"))
    fs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fs)  # defines the functions; __main__ does not run
    opts = fs.SwapFacePipelineOptions().parse()

    # the models, as the upstream's __main__ block builds them
    fs.generator, fs.kp_detector, fs.he_estimator, fs.estimate_jacobian = fs.init_facevid2vid_pretrained_model(
        "./pretrained_ckpts/facevid2vid/vox-256.yaml", "./pretrained_ckpts/facevid2vid/00000189-checkpoint.pth.tar")
    fs.GPEN_model = fs.init_gpen_pretrained_model(model_params={
        "base_dir": "./pretrained_ckpts/gpen/", "in_size": 512, "model": "GPEN-BFR-512", "use_sr": True,
        "sr_model": "realesrnet", "sr_scale": 4, "channel_multiplier": 2, "narrow": 1})
    fs.faceParsing_model = fs.init_faceParsing_pretrained_model("default", "./pretrained_ckpts/face_parsing/79999_iter.pth", "")
    net = fs.Net3(opts).to(opts.device)
    saved = torch.load(opts.checkpoint_path)
    net.load_state_dict(fs.torch_utils.remove_module_prefix(saved["state_dict"], prefix="module."))
    net.latent_avg = saved["latent_avg"].to(opts.device)
    fs.net = net
    drv.info.update({"torch": torch.__version__, "device": opts.device})

    try:
        for item, source, target in drv.pairs():
            with drv.guard(item):  # one pair's failure (e.g. an unparsable face) must not stop the others
                pair_dir = os.path.join(scratch, item["id"])
                os.makedirs(pair_dir)
                src_path, tgt_path = os.path.join(pair_dir, "source.png"), os.path.join(pair_dir, "target.png")
                Image.fromarray(source).save(src_path)
                Image.fromarray(target).save(tgt_path)
                fs.faceSwapping_pipeline(src_path, tgt_path, opts, save_dir=pair_dir, target_mask=None,
                                         need_crop=False, verbose=False)
                out = os.path.join(pair_dir, "swap_source_to_target.png")
                if not os.path.isfile(out):
                    drv.fail(item, "the upstream pipeline wrote no result")
                else:
                    drv.write(item, np.asarray(Image.open(out).convert("RGB")))
                shutil.rmtree(pair_dir, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
