"""Fixtures of the team-mode tests: `studio_factory` builds isolated studios (netns.py)
and removes them at the end of the test, whatever happened; every test here is
marked `team`. Where a studio cannot be built (not root, a container refusing
namespaces or mounts) the tests skip, and the run's summary says why in one line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from team.netns import Studio, unavailable

_why_not: list[str | None] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "team: team mode across network namespaces (as root)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.team)


def studio_problem() -> str | None:
    """Asked once per test run: building a probe namespace is not free."""
    if not _why_not:
        _why_not.append(unavailable())
    return _why_not[0]


@pytest.fixture
def studio_factory(tmp_path: Path) -> Iterator[Callable[..., Studio]]:
    """`studio_factory(workstations=3)`: a Studio under tmp_path, closed at the end."""
    problem = studio_problem()
    if problem:
        pytest.skip(problem)
    made: list[Studio] = []

    def build(workstations: int = 3, name: str = "studio") -> Studio:
        studio = Studio(tmp_path / f"{name}{len(made)}", workstations)
        made.append(studio)
        return studio

    try:
        yield build
    finally:
        for studio in made:
            studio.close()


@pytest.fixture
def studio(studio_factory: Callable[..., Studio]) -> Studio:
    return studio_factory()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if "team/" in getattr(r, "nodeid", "")]
    if skipped and _why_not and _why_not[0]:
        terminalreporter.write_line(f"team tests skipped ({len(skipped)}): {_why_not[0]}")
