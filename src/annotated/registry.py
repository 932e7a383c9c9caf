"""Every task by name: copy and numbers (chapters 7-8) and multi30k (chapter 9).

The one place that looks tasks up; it imports the modules that define them, so no import
has to happen first for a task to be known.
"""

from __future__ import annotations

from .multi30k import Multi30kTask
from .tasks import CopyTask, NumbersTask, Task, TaskData

TASKS: dict[str, Task] = {task.name: task for task in (CopyTask(), NumbersTask(),
                                                       Multi30kTask())}


def get_task(name: str) -> Task:
    """The task called `name`, or a ValueError naming the known ones."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(TASKS)}")
    return TASKS[name]


def make_data(name: str, seed: int = 0, **settings) -> TaskData:
    """Generate task `name`'s splits and vocabularies from `seed`."""
    return get_task(name).make_data(seed, **settings)
