"""Driver for neuralchen/SimSwap @ bd7b768: one swap per (source, target) pair with the upstream's own code.

Runs inside the checkout with the SimSwap environment's python (protocol: driver_protocol.py).  Mirrors
the steps of the upstream's test_wholeimage_swapsingle.py, calling its modules: TestOptions, create_model,
Face_detect_crop and reverse2wholeimage.  Python 3.6 syntax.
"""

import os
import sys
import tempfile

import numpy as np
from driver_protocol import Driver, seed_torch

WEIGHTS = [
    "arcface_model/arcface_checkpoint.tar",
    "checkpoints/people/latest_net_G.pth",
    "insightface_func/models/antelope/scrfd_10g_bnkps.onnx",
    "insightface_func/models/antelope/glintr100.onnx",
]

with Driver() as drv:
    drv.require_weights(WEIGHTS, hint="run `python -m benchmarks.setup simswap` for where each file comes from")
    import cv2
    import torch
    import torch.nn.functional as F
    from PIL import Image
    from torchvision import transforms

    if not torch.cuda.is_available():
        raise RuntimeError("SimSwap builds its generator on cuda:0: this driver needs a CUDA GPU")
    seed_torch(torch, drv.seed)
    crop_size = int(drv.options["crop_size"])
    # the upstream parses its options from the command line
    sys.argv = ["test_wholeimage_swapsingle.py", "--crop_size", str(crop_size), "--name", str(drv.options["name"]),
                "--Arc_path", "arcface_model/arcface_checkpoint.tar", "--no_simswaplogo"]
    from insightface_func.face_detect_crop_single import Face_detect_crop
    from models.models import create_model
    from options.test_options import TestOptions
    from util.reverse2original import reverse2wholeimage

    opt = TestOptions().parse()
    torch.nn.Module.dump_patches = True
    model = create_model(opt)
    model.eval()
    app = Face_detect_crop(name="antelope", root="./insightface_func/models")
    app.prepare(ctx_id=0, det_thresh=float(drv.options["det_thresh"]), det_size=(640, 640), mode="None")
    to_arcface = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    drv.info.update({"torch": torch.__version__, "crop_size": crop_size})
    scratch = tempfile.mkdtemp(prefix="simswap-")

    with torch.no_grad():
        for item, source, target in drv.pairs():
            source_bgr = np.ascontiguousarray(source[:, :, ::-1])
            target_bgr = np.ascontiguousarray(target[:, :, ::-1])
            found = app.get(source_bgr, crop_size)
            if found is None:
                drv.no_face(item, "insightface found no face in the source")
                continue
            targets = app.get(target_bgr, crop_size)
            if targets is None:
                drv.no_face(item, "insightface found no face in the target")
                continue
            crop = Image.fromarray(cv2.cvtColor(found[0][0], cv2.COLOR_BGR2RGB))
            identity = to_arcface(crop)[None].cuda()
            latent = F.normalize(model.netArc(F.interpolate(identity, size=(112, 112))), p=2, dim=1)
            crops, mats = targets
            swapped, tensors = [], []
            for b_crop in crops:
                tensor = torch.from_numpy(cv2.cvtColor(b_crop, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float().div(255)[None].cuda()
                swapped.append(model(None, tensor, latent, None, True)[0])
                tensors.append(tensor)
            out_path = os.path.join(scratch, item["file"])
            reverse2wholeimage(tensors, swapped, mats, crop_size, target_bgr, None, out_path, True,
                               pasring_model=None, use_mask=False, norm=None)
            result = cv2.imread(out_path)
            if result is None:
                drv.fail(item, "the upstream paste-back wrote no image")
                continue
            drv.write(item, cv2.cvtColor(result, cv2.COLOR_BGR2RGB))
