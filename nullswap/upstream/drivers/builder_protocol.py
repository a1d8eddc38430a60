"""What every rehearsal builder shares (runs in the upstream's environment: Python 3.6 syntax, stdlib only).

The builders live beside their adapters' drivers (``baselines/rehearsal/``, ``swappers/rehearsal/``); this
module sits beside ``driver_protocol`` on the builder's ``PYTHONPATH``.  A builder is run by ``nullswap.upstream.rehearsal.prepare_standin`` as
``python build_<name>.py --report REPORT --options JSON [--mode MODE]`` with a copy of the upstream tree as
its working directory and on ``sys.path``; it saves the upstream's own networks with random initial weights
where the upstream loads its published files, and lists every file it wrote in ``REPORT``.  Files that
cannot be random (a real detector, a landmark model) are copied from a path given in the options.
"""

import argparse
import json
import os
import shutil


def arguments():
    """``(options, mode, report path)`` from the command line."""
    parser = argparse.ArgumentParser(description="build random-weight stand-ins of an upstream's weights")
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("--options", default="{}", help="the adapter's driver options (and builder inputs), as JSON")
    parser.add_argument("--mode", default=None, help="the driver mode the stand-ins are for")
    args = parser.parse_args()
    return json.loads(args.options), args.mode, args.report


def parent(path):
    """Create the folder of ``path`` (as the upstream's download instructions would have); returns ``path``."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    return path


def copy_in(options, key, dest, what):
    """Copy the real file named by ``options[key]`` to ``dest`` (a file that cannot be a random network)."""
    source = options.get(key)
    if not source or not os.path.isfile(source):
        raise SystemExit(f"{what} is needed at {dest} and cannot be random: pass its path as the builder option {key!r}"
                         )
    shutil.copyfile(source, parent(dest))
    return dest


def report(path, weights, **facts):
    """Write the builder's report: the files it saved (relative to the checkout) and facts about them."""
    with open(path, "w") as handle:
        json.dump({"weights": list(weights), "facts": facts}, handle, indent=1)
