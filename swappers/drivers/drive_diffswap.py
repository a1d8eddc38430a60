"""Driver for wl-zhao/DiffSwap @ c316952: the upstream's ``pipeline.py`` chain, one pair at a time.

The chain reads ``data/portrait_jpg/{source,target}`` of the checkout and writes
``data/portrait/swap_res_ori/<kind>/<source>/<target>.png``; the driver stages one pair there, runs
``python pipeline.py`` with this environment's python, and reads the result back.  The upstream's own
dlib detection (``pipeline.get_detect``) decides ``no_face`` before the chain starts.  Python 3.6 syntax.
"""

import glob
import os
import shutil
import subprocess
import sys

import numpy as np
from driver_protocol import Driver

WEIGHTS = [
    "checkpoints/diffswap.pth",
    "checkpoints/glint360k_r100.pth",
    "checkpoints/shape_predictor_68_face_landmarks.dat",
]
STAGED = ["data/portrait_jpg", "data/portrait"]  # folders the chain creates; cleared before each pair

with Driver() as drv:
    drv.require_weights(WEIGHTS, hint="DiffSwap's checkpoints: the Tsinghua cloud folder of its README")
    import cv2
    import pipeline  # the upstream module: its dlib detector and landmark predictor load at import
    from PIL import Image

    drv.info.update({"python": sys.version.split()[0]})
    timeout = float(drv.options["pair_timeout"])

    def has_face(image):
        grey = cv2.cvtColor(np.ascontiguousarray(image[:, :, ::-1]), cv2.COLOR_BGR2GRAY)
        while grey.shape[0] < 400 or grey.shape[1] < 400:  # the upstream enlarges small images first
            grey = cv2.resize(grey, (0, 0), fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        return len(pipeline.get_detect(grey, 2)) > 0

    for item, source, target in drv.pairs():
        if not has_face(source):
            drv.no_face(item, "the upstream's dlib detection found no face in the source")
            continue
        if not has_face(target):
            drv.no_face(item, "the upstream's dlib detection found no face in the target")
            continue
        for folder in STAGED:
            shutil.rmtree(folder, ignore_errors=True)
        for kind, image in (("source", source), ("target", target)):
            os.makedirs(os.path.join("data/portrait_jpg", kind))
            Image.fromarray(image).save(os.path.join("data/portrait_jpg", kind, "pair.png"))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([".", os.environ.get("PYTHONPATH", "")]))
        try:
            proc = subprocess.run([sys.executable, "pipeline.py"], env=env, timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = f"timeout after {timeout} s"
        found = sorted(glob.glob("data/portrait/swap_res_ori/*/*/pair.png"))
        if code != 0 or not found:
            drv.fail(item, f"DiffSwap's pipeline stopped (exit {code}); its output is in driver.log")
            continue
        drv.write(item, np.asarray(Image.open(found[0]).convert("RGB")))
    for folder in STAGED:
        shutil.rmtree(folder, ignore_errors=True)
