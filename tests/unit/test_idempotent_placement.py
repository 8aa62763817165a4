"""`@idempotent` must wrap `@blp.response`: below it, the key would store (and replay) the
view's raw return value — a row object that cannot be a response (a 500 whenever a partner
sends Idempotency-Key), or a dict not yet shaped by the response schema."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "smbfinance"
RESPONSE_DECORATORS = {"response", "alt_response"}


def _name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _idempotent_views() -> list[tuple[str, ast.FunctionDef]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef) and any(
                    _name(d) == "idempotent" for d in node.decorator_list):
                found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", node))
    return found


VIEWS = _idempotent_views()


def test_there_are_idempotent_views_to_check() -> None:
    assert len(VIEWS) >= 15


@pytest.mark.parametrize("view", [node for _, node in VIEWS], ids=[where for where, _ in VIEWS])
def test_idempotent_sits_above_every_response_decorator(view: ast.FunctionDef) -> None:
    # given the decorators top to bottom (the first listed is the outermost)
    names = [_name(d) for d in view.decorator_list]
    # then no response decorator is outside @idempotent
    position = names.index("idempotent")
    assert not RESPONSE_DECORATORS & set(names[:position]), names
