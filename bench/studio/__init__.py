"""Label studio: a local web app with which a company builds its own evaluation set.

``teamform label serve`` samples task-employee pairs as the paper's annotation application did
and lets annotators judge them (the annotate page), or build teams and accept or replace the
proposed picks (the team builder); ``teamform label stats DIR`` measures agreement and scores the
synthetic labeller against the humans. The output directory is a complete ``data=custom``
dataset (``labels.csv`` with the judged pairs) plus ``annotations.jsonl`` (every event).

Public API:
    - :func:`bench.studio.app.create_app` (``dataset, out_dir, settings, services -> FastAPI``)
    - :func:`bench.studio.server.serve` and :class:`bench.studio.server.StudioServer`
    - :func:`bench.studio.stats.label_stats` and :func:`bench.studio.stats.render_stats`
    - :class:`bench.studio.settings.LabelSettings` (the ``label.*`` config)
    - :class:`bench.studio.services.StudioServices` and the protocols it holds

"""
