"""The ``nullswap`` command: ``protect`` photos, ``train`` a generator, prepare ``models`` and ``sample`` faces.

``nullswap train ...`` passes its arguments to the Hydra entry point (``python -m nullswap.train``), so
training has one set of settings and one syntax (``key=value`` overrides).
"""

from __future__ import annotations

import sys

USAGE = """usage: nullswap <command> [args]

commands:
  protect   cloak the faces in photos or folders      (nullswap protect photo.jpg -o protected/ --verify)
  train     train a generator (Hydra overrides)         (nullswap train train.steps=500)
  models    fetch the offline recognizers into the cache (nullswap models)
  sample    build the offline sample set of real faces   (nullswap sample)
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "protect":
        from nullswap.protect import main as protect_main

        return protect_main(rest)
    if command == "train":
        from nullswap.train import main as train_main

        sys.argv = ["nullswap train", *rest]
        train_main()
        return 0
    if command == "models":
        from nullswap.weights import main as weights_main

        return weights_main(["prepare", "--offline", *rest])
    if command == "sample":
        from nullswap.data.sample import main as sample_main

        return sample_main(rest)
    print(f"unknown command '{command}'\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
