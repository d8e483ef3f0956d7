"""The checks that keep the house (DESIGN.md): imports flow one way and every request type
has a handler. (The third, mypy, runs in `make test` before pytest.)"""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

import pytest

from crop_protocol import messages as m
from cropd.handlers import HANDLERS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"crop_progress": ROOT / "crop_progress",
            "crop_protocol": ROOT / "protocol" / "crop_protocol",
            "cropd": ROOT / "daemon" / "cropd",
            "crop_client": ROOT / "client" / "crop_client"}

# What each package may import of ours (DESIGN.md "Layout and dependency direction").
ALLOWED = {"crop_protocol": set(),
           "crop_progress": set(),
           "cropd": {"crop_protocol", "crop_progress"},
           "crop_client": {"crop_protocol", "crop_progress"}}
# crop_client uses crop_progress for paths, display and reading, never its store.
FORBIDDEN_MODULES = {"crop_client": {"crop_progress.store"},
                     "crop_protocol": {"zmq"}, "crop_progress": {"zmq"}}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a source file imports (absolute names), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_the_packages_are_where_design_says() -> None:
    for name, folder in PACKAGES.items():
        assert (folder / "__init__.py").is_file(), name


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_imports_flow_one_way(package: str) -> None:
    ours = set(PACKAGES)
    wrong: list[str] = []
    for path in sorted(PACKAGES[package].rglob("*.py")):
        for line, module in imports_of(path):
            top = module.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            if top in ours and top != package and top not in ALLOWED[package]:
                wrong.append(where)
            if any(module == bad or module.startswith(bad + ".")
                   for bad in FORBIDDEN_MODULES.get(package, ())):
                wrong.append(where)
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom cropd.server import Server\n"
                      "if True:\n    import crop_client.session as s\nfrom . import near\n")
    assert imports_of(sample) == [(1, "os"), (2, "cropd.server"), (2, "cropd.server.Server"),
                                  (4, "crop_client.session")]


def request_types() -> list[type]:
    return list(typing.get_args(m.Request))


def test_every_request_type_has_a_handler() -> None:
    requests = request_types()
    assert len(requests) >= 16
    missing = [t.__name__ for t in requests if t not in HANDLERS]
    assert not missing, f"no handler for {missing}"
    extra = [t.__name__ for t in HANDLERS if t not in requests]
    assert not extra, f"handlers for types that are not requests: {extra}"


def test_every_handler_takes_state_ctx_and_its_request() -> None:
    for kind, handler in HANDLERS.items():
        params = list(inspect.signature(handler).parameters)
        assert params[:3] == ["state", "ctx", "req"], (kind.__name__, params)

