"""Rehearsals: the paper's setting run end to end on stand-ins (``make rehearse-paper``).

* :mod:`benchmarks.rehearsal.layouts` — real registry faces written in CelebA-HQ's and LFW's published
  folder layouts;
* :mod:`benchmarks.rehearsal.standins` — the paper's networks with random weights, saved where the
  weight manifest looks and marked as stand-ins (:mod:`nullswap.standin`);
* :mod:`benchmarks.rehearsal.paper` — the commands a user of the paper's setting types, run against them.
"""
