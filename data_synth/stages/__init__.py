"""The synthesis stages, one module each, and the one registry of their names.

Every module has ``NAME`` and ``run(ctx) -> counts``; a module may define ``is_current(ctx,
done) -> bool`` to say that a finished stage must run again (labels, when the labelling prompt
changed). The running order is :data:`data_synth.settings.STAGE_ORDER`.
"""

from __future__ import annotations

from types import ModuleType

from data_synth.stages import curriculums, eureka, labels, negatives, projects, tasks

STAGES: dict[str, ModuleType] = {
    module.NAME: module for module in (projects, tasks, curriculums, eureka, labels, negatives)
}

# Which finished stages a stage's output feeds: when a stage runs again, these run again too.
DOWNSTREAM = {
    "projects": ("tasks", "curriculums", "labels", "negatives"),
    "tasks": ("curriculums", "labels", "negatives"),
    "curriculums": ("negatives",),
    "eureka": ("labels",),
    "labels": (),
    "negatives": (),
}
