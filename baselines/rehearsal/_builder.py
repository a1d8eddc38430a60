"""What every rehearsal builder shares (runs in the upstream's environment: Python 3.6 syntax, stdlib only).

A builder is run by ``nullswap.upstream.rehearsal.prepare_standin`` as
``python build_<name>.py --report REPORT --options JSON [--mode MODE]`` with the copy of the upstream
tree as its working directory and on ``sys.path``; it saves random-weight networks of the upstream's own
classes where the upstream loads its published files and lists them in ``REPORT``.
"""

import argparse
import json
import os


def arguments():
    """``(options, mode, report path)`` from the command line."""
    parser = argparse.ArgumentParser(description="build random-weight stand-ins of an upstream's weights")
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("--options", default="{}", help="the adapter's driver options, as JSON")
    parser.add_argument("--mode", default=None, help="the driver mode the stand-ins are for")
    args = parser.parse_args()
    return json.loads(args.options), args.mode, args.report


def parent(path):
    """Create the folder of ``path`` (as the upstream's download instructions would have)."""
    folder = os.path.dirname(path)
    if folder and not os.path.isdir(folder):
        os.makedirs(folder)
    return path


def report(path, weights, **facts):
    """Write the builder's report: the files it saved (relative to the checkout) and facts about them."""
    with open(path, "w") as handle:
        json.dump({"weights": list(weights), "facts": facts}, handle, indent=1)
