"""NullSwap: proactive identity cloaking against deepfake face swapping (ICCV 2025) — training,
protection and the benchmark harness around it."""

__version__ = "0.1.0"
