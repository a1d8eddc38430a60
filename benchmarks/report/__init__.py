"""Tables and figures from cell files, one way through:

    cells/*.json ─ frames ─▶ builders (+ paper, setting, formatting) ─▶ render (Markdown, LaTeX), figures ─▶ write

:mod:`~benchmarks.report.frames` reads the results store into tidy frames;
:mod:`~benchmarks.report.builders` lays each table out as the paper does, its reference numbers
(:mod:`~benchmarks.report.paper`) beside the measured ones; :mod:`~benchmarks.report.render` and
:mod:`~benchmarks.report.figures` are the views; :mod:`~benchmarks.report.write` puts them on disk;
``python -m benchmarks.report DIR`` (:mod:`~benchmarks.report.cli`) rebuilds an experiment's tables.
"""
