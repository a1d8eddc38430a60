"""Driver for wl-zhao/DiffSwap @ c316952: the upstream's ``pipeline.py`` chain, one pair at a time.

The chain reads ``data/portrait_jpg/{source,target}`` of the checkout and writes
``data/portrait/swap_res_ori/<kind>/<source>/<target>.png``; the driver stages one pair there, runs
``python pipeline.py`` with this environment's python, and reads the result back.  The upstream's own
dlib detection (``pipeline.get_detect``, on the image prepared as ``get_lmk_ori`` prepares it: resized first,
then grey) decides ``no_face`` before the chain starts.  Python 3.6 syntax.

What the driver takes care of, each for a reason in the upstream:

* The chain starts ``python``/``python3`` by name through ``os.system`` (``pipeline.py:412-419``,
  ``tests/face_swap.sh:4``).  The runner puts this environment's ``bin/`` first on PATH and the chain is started
  with that environment unchanged, so every child finds this environment's interpreter.
* Each pair's chain runs in its own session; on timeout the whole process group (``sh``, ``bash``,
  ``torch.distributed.launch``, the GPU worker and its data loader workers) is killed, not only ``pipeline.py``.
* ``data/portrait_jpg`` holds tracked upstream files: it is moved aside before the first pair and put back at
  the end, and ``data/portrait`` is removed, so the checkout is left as it was.  Runs on one checkout take turns
  (a lock outside the checkout).
* The swap step forces ``CUDA_VISIBLE_DEVICES=0`` (``pipeline.py:419``): a request for another GPU is refused
  rather than silently run on the machine's first one.
* The diffusion sampler draws its noise unseeded (``ldm/models/diffusion/ddim.py:128-129``) in a process the
  chain starts through ``torch.distributed.launch``.  The driver passes the pair's seed on without changing the
  upstream's code: ``chain_seed/sitecustomize.py`` (beside the driver protocol) goes first on the chain's
  ``PYTHONPATH`` with the seed in ``NULLSWAP_CHAIN_SEED``, and every Python process of the chain seeds ``random``
  at start-up and numpy and torch when it imports them.  The same seed then draws the same noise; cuDNN may
  still choose kernels whose last bits differ between runs.
"""

import contextlib
import fcntl
import glob
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np
from driver_protocol import Driver

WEIGHTS = [
    "checkpoints/diffswap.pth",
    "checkpoints/glint360k_r100.pth",
    "checkpoints/shape_predictor_68_face_landmarks.dat",
]
INPUTS, OUTPUTS = "data/portrait_jpg", "data/portrait"  # what the chain reads, what it creates


def kill_group(proc):
    """Terminate the chain and everything it started (it runs in a session of its own)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def run_chain(timeout, env):
    """``python pipeline.py`` in its own process group; its exit code, or why it was stopped."""
    proc = subprocess.Popen([sys.executable, "pipeline.py"], env=env, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        return f"timeout after {timeout} s (its process group was killed)"
    except BaseException:
        kill_group(proc)
        raise


@contextlib.contextmanager
def checkout_lock(checkout):
    """One run at a time on a checkout: the chain works in the checkout's own ``data/`` folder."""
    name = f"nullswap-diffswap-{hashlib.sha1(os.path.abspath(checkout).encode()).hexdigest()[:12]}.lock"
    with open(os.path.join(tempfile.gettempdir(), name), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def tracked_inputs_aside(scratch):
    """Move the checkout's own ``data/portrait_jpg`` (tracked upstream files) aside; put it back afterwards."""
    saved = os.path.join(scratch, "portrait_jpg.orig")
    had = os.path.isdir(INPUTS)
    if had:
        shutil.move(INPUTS, saved)
    try:
        yield
    finally:
        for folder in (INPUTS, OUTPUTS):
            shutil.rmtree(folder, ignore_errors=True)
        if had:
            shutil.move(saved, INPUTS)


with Driver() as drv:
    drv.require_weights(WEIGHTS, hint="DiffSwap's checkpoints: the Tsinghua cloud folder of its README")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.split(",")[0].strip() not in ("0", ""):
        raise RuntimeError("DiffSwap's pipeline.py runs its swap step with CUDA_VISIBLE_DEVICES=0 (line 419), i.e. "
                           f"on the machine's first GPU whatever is requested; this run may only use GPU {visible!r}: "
                           "run it with device=cuda:0 on a machine (or allocation) whose first GPU it may use"
                           )
    import cv2
    import pipeline  # the upstream module: its dlib detector and landmark predictor load at import
    from PIL import Image

    drv.info.update({"python": sys.version.split()[0], "seeded": True,
                     "seeded_how": "every process of the chain seeded at start-up (chain_seed/sitecustomize.py): "
                                   "random at once, numpy and torch on import; seed = request seed + pair index"})
    timeout = float(drv.options["pair_timeout"])

    def has_face(image):
        """``get_lmk_ori``'s detection (pipeline.py:58-65): BGR, halved past 2000 px, doubled below 400, then grey."""
        bgr = np.ascontiguousarray(image[:, :, ::-1])
        while bgr.shape[0] > 2000 or bgr.shape[1] > 2000:
            bgr = cv2.resize(bgr, (0, 0), fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
        while bgr.shape[0] < 400 or bgr.shape[1] < 400:
            bgr = cv2.resize(bgr, (0, 0), fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        return len(pipeline.get_detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), 2)) > 0

    # the chain's children inherit this environment: PATH (the environment's bin/ first, set by the runner), and
    # the folder whose sitecustomize seeds each of them
    import driver_protocol

    chain_seed = os.path.join(os.path.dirname(os.path.abspath(driver_protocol.__file__)), "chain_seed")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([chain_seed, ".", os.environ.get("PYTHONPATH", "")]))
    scratch = tempfile.mkdtemp(prefix="diffswap-")
    try:
        with checkout_lock(drv.checkout), tracked_inputs_aside(scratch):
            for index, (item, source, target) in enumerate(drv.pairs()):
                with drv.guard(item):
                    if not has_face(source):
                        drv.no_face(item, "the upstream's dlib detection found no face in the source")
                        continue
                    if not has_face(target):
                        drv.no_face(item, "the upstream's dlib detection found no face in the target")
                        continue
                    for folder in (INPUTS, OUTPUTS):
                        shutil.rmtree(folder, ignore_errors=True)
                    for kind, image in (("source", source), ("target", target)):
                        os.makedirs(os.path.join(INPUTS, kind))
                        Image.fromarray(image).save(os.path.join(INPUTS, kind, "pair.png"))
                    code = run_chain(timeout, dict(env, NULLSWAP_CHAIN_SEED=str(drv.seed + index)))
                    found = sorted(glob.glob(os.path.join(OUTPUTS, "swap_res_ori", "*", "*", "pair.png")))
                    if code != 0 or not found:
                        drv.fail(item, f"DiffSwap's pipeline stopped (exit {code}); its output is in driver.log")
                        continue
                    drv.write(item, np.asarray(Image.open(found[0]).convert("RGB")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
