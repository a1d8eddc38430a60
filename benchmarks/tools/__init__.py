"""One-off studies and the demo: each writes a report under ``results/`` and is run by hand.

    python -m benchmarks.tools.demo               the whole pipeline on the offline default (``make demo``)
    python -m benchmarks.tools.protector_sweep    the in-process protectors at several strengths
    python -m benchmarks.tools.recognizer_report  the offline recognizers against their reference implementations
    python -m benchmarks.tools.model_cost         size and CPU cost of the NullSwap generator
    python -m benchmarks.tools.swap_grid          what a swapper does to a few seeded pairs

The paper's tables and the studies the README reports are beside them in :mod:`benchmarks`.
"""
