"""Driver for GGGHSL/InfoSwap-master @ 0484ef5: the upstream's own ``inference`` on each pair.

``inference_demo.py`` builds its models in its ``__main__`` block and keeps them as module globals;
the driver imports the module and builds the same models with the upstream's classes, then calls
``inference_demo.inference(source, target, save_dir)``.  Python 3.6 syntax.
"""

import glob
import os
import shutil
import tempfile
import types

import numpy as np
from driver_protocol import Driver, seed_torch, torch_device
from PIL import Image

ROOTS = {
    "smooth": ("./checkpoints_512/w_kernel_smooth", "ckpt_ks_{}.pth"),
    "no_smooth": ("./checkpoints_512/wo_kernel_smooth", "ckpt_{}.pth"),
}

with Driver() as drv:
    mode = str(drv.options["ib_mode"])
    root, pattern = ROOTS[mode]
    weights = ["modules/model_128_ir_se50.pth"] + [os.path.join(root, pattern.format(k)) for k in "GEI"]
    drv.require_weights([os.path.normpath(w) for w in weights],
                        hint="InfoSwap's weights are sent by its authors on request (upstream USAGE.md)")
    import matplotlib.pyplot as plt
    import torch

    device = torch.device(torch_device(torch, drv.request.get("device")))
    seed_torch(torch, drv.seed)
    import inference_demo as demo
    from modules.aii_generator import AII512
    from modules.decoder512 import UnetDecoder512
    from modules.encoder128 import Backbone128
    from modules.iib import IIB

    # the models, as the upstream's __main__ block builds them
    encoder = Backbone128(50, 0.6, "ir_se").eval().to(device)
    encoder.load_state_dict(torch.load("modules/model_128_ir_se50.pth", map_location=device), strict=True)
    G = AII512().eval().to(device)
    decoder = UnetDecoder512().eval().to(device)
    N = 10
    _ = encoder(torch.rand(1, 3, 128, 128).to(device), cache_feats=True)
    readout = encoder.features[:(N + 1)]
    in_c = sum(map(lambda f: f.shape[-3], readout))
    iib = IIB(in_c, [readout[i].shape[-3] for i in range(N)], device, smooth=mode == "smooth", kernel_size=1).eval()
    G.load_state_dict(torch.load(os.path.join(root, pattern.format("G")), map_location=device), strict=True)
    decoder.load_state_dict(torch.load(os.path.join(root, pattern.format("E")), map_location=device), strict=True)
    iib.load_state_dict(torch.load(os.path.join(root, pattern.format("I")), map_location=device), strict=mode == "smooth")
    encoder.features = []
    demo.encoder, demo.G, demo.decoder, demo.iib, demo.N, demo.device = encoder, G, decoder, iib, N, device

    # the upstream saves its final result under a folder it never creates: let its imsave create it
    def imsave(path, *args, **kwargs):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return plt.imsave(path, *args, **kwargs)

    demo.plt = types.SimpleNamespace(imsave=imsave, close=plt.close, imshow=plt.imshow, show=plt.show)
    drv.info.update({"torch": torch.__version__, "ib_mode": mode, "device": str(device)})
    scratch = tempfile.mkdtemp(prefix="infoswap-")

    for item, source, target in drv.pairs():
        pair_dir = os.path.join(scratch, item["id"])
        os.makedirs(pair_dir)
        # ordinary RGB files: the upstream reads them with cv2 (BGR order) and keeps that order throughout
        src_path, tgt_path = os.path.join(pair_dir, "source.png"), os.path.join(pair_dir, "target.png")
        Image.fromarray(source).save(src_path)
        Image.fromarray(target).save(tgt_path)
        bgr = Image.fromarray(np.ascontiguousarray(source[:, :, ::-1]))  # what the upstream hands MTCNN
        if demo.mtcnn.align_multi(bgr, min_face_size=64., thresholds=[0.6, 0.7, 0.8], factor=0.707, crop_size=(512, 512)) is None:
            drv.no_face(item, "the upstream's MTCNN found no face in the source")
            continue
        with torch.no_grad():
            demo.inference(src_path, tgt_path, os.path.join(pair_dir, "out"))
        # the upstream builds its output path from the target's absolute path: it lands in pair_dir/target/_gen./
        found = [p for p in glob.glob(os.path.join(pair_dir, "**", "_gen.", "*"), recursive=True) if os.path.isfile(p)]
        if not found:
            drv.fail(item, "the upstream wrote no pasted result (see driver.log)")
            continue
        drv.write(item, np.asarray(Image.open(found[0]).convert("RGB")))
        shutil.rmtree(pair_dir, ignore_errors=True)
