"""The house keeps its shape: read every module's imports and fail on one that runs the wrong way between the layers."""

import ast
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# From the ground up (README: How it works). A module may import its own app and the layers below it; apps on the
# same floor never import each other. Tests and migrations are left out: they may reach anywhere.
LAYERS = (
    ("config",),
    ("core",),
    ("audit",),
    ("tiers",),
    ("coaching",),
    ("ops", "api", "demo"),
    ("bench",),
)
FLOOR = {app: floor for floor, apps in enumerate(LAYERS) for app in apps}


def _modules():
    for app in FLOOR:
        for path in sorted((BASE_DIR / app).rglob("*.py")):
            parts = path.relative_to(BASE_DIR).parts
            if "tests" in parts or "migrations" in parts:
                continue
            yield app, path


def _imported_apps(path: Path) -> set[tuple[str, int]]:
    """The apps of Ladder a module imports (at its top or inside a function), with the line."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue  # relative imports stay inside the app
        found |= {(name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in FLOOR}
    return found


def wrong_way_imports() -> list[str]:
    wrong = []
    for app, path in _modules():
        for imported, line in sorted(_imported_apps(path)):
            if imported != app and FLOOR[imported] >= FLOOR[app]:
                wrong.append(f"{path.relative_to(BASE_DIR)}:{line} imports {imported}")
    return wrong


def test_every_import_runs_down_the_layers():
    assert wrong_way_imports() == []


def test_the_check_sees_an_import_that_runs_up(tmp_path, monkeypatch):
    # given a ground-floor module that reaches up into the tier engine, inside a function
    module = tmp_path / "core" / "upward.py"
    module.parent.mkdir()
    module.write_text("def f():\n    from tiers.models import Influencer\n    return Influencer\n")
    monkeypatch.setattr(f"{__name__}.BASE_DIR", tmp_path)

    # then the check names it
    assert wrong_way_imports() == ["core/upward.py:2 imports tiers"]
