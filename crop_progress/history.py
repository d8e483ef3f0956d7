"""Undo history from the journal: a client's submitted batches in one directory.

The daemon keeps each client's last batches in memory as they are reported;
after a restart it rebuilds them from the journal with `undo_stack`, so `b`
still takes the last batch back.
"""

from __future__ import annotations

from collections.abc import Iterable

from crop_progress.audit import OUTCOME_OPS, Event

MAX_BATCHES = 50  # per client and directory


def push(stack: list[list[Event]], event: Event) -> None:
    """Add a reported outcome to its batch (or a new one)."""
    if stack and event.batch is not None and stack[-1][-1].batch == event.batch:
        stack[-1].append(event)
    else:
        stack.append([event])
        del stack[:-MAX_BATCHES]


def take_back(stack: list[list[Event]], name: str) -> None:
    """An undo of `name`: it leaves the newest batch that holds it."""
    for batch in reversed(stack):
        for at, event in enumerate(batch):
            if event.file == name:
                del batch[at]
                if not batch:
                    stack.remove(batch)
                return


def undo_stack(events: Iterable[Event], client_id: str) -> list[list[Event]]:
    """The batches `client_id` reported and has not undone, oldest first."""
    stack: list[list[Event]] = []
    for event in events:
        if event.op == "reset":
            stack.clear()
        if event.client is None or event.client.id != client_id:
            continue
        if event.op in OUTCOME_OPS:
            push(stack, event)
        elif event.op == "undo" and event.file:
            take_back(stack, event.file)
    return stack
