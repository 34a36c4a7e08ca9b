"""Team formation from score matrices: constraints, exact and greedy solvers, explanations, TEAM.md.

A pure library floor: numpy, scipy, the standard library and :mod:`bench.core` only. Loading
models, encoding and the ``teamform team`` command sit on top of it.

- :mod:`bench.team.assign`: ``TeamConstraints``, ``check_counts``, ``assign``
- :mod:`bench.team.explain`: the ``tasks`` list and the whole document of ``team.json``
- :mod:`bench.team.render`: ``TEAM.md`` and ``compare_solvers`` (greedy against exact)
- :mod:`bench.team.project`: project files (JSON or plain text) and the editable ``tasks.json``
"""
