"""``data=demo``: a simulated enterprise (wood panels, ceramic tiles, bathroom fixtures).

Generated deterministically from a seed: a skill taxonomy (``taxonomy.yaml``), an organisation
(``enterprise.yaml``), hidden competences per employee, aspects rendered as prose
(``phrasing.yaml``), projects and tasks, graded ground truth and judged pairs sampled as the
paper's annotator application did. ``python -m bench.data.demo.calibrate`` prints how lexical and
embedding baselines do on it.
"""

from __future__ import annotations

from bench.data.demo.build import build_demo

__all__ = ["build_demo"]
