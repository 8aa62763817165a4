"""The inner walls: services know nothing of the web or GraphQL, the doors know nothing
of SQLAlchemy. Read from the source with `ast`, so a violation fails before review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "smbfinance"
WEB_LIBRARIES = {"flask", "strawberry", "marshmallow", "flask_smorest", "webargs"}
DATABASE_LIBRARIES = {"sqlalchemy"}


def imported_roots(source: str) -> set[str]:
    """Top-level packages a module imports, anywhere in it (functions included)."""
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def service_modules():
    found = set(PACKAGE.rglob("service.py")) | set(PACKAGE.rglob("*_service.py"))
    found |= {p for p in PACKAGE.rglob("*.py") if "services" in p.relative_to(PACKAGE).parts}
    return sorted(found)


def door_modules():
    return sorted(set(PACKAGE.rglob("rest.py")) | set(PACKAGE.rglob("graphql.py")))


def _name(path):
    return str(path.relative_to(PACKAGE.parent))


def test_the_detector_sees_every_import_form():
    # given imports written every way Python allows
    source = (
        "import flask\nimport strawberry.types as st\nfrom marshmallow import fields\n"
        "from flask_smorest.blueprint import Blueprint\n"
        "def f():\n    from webargs import flaskparser\n    import sqlalchemy.orm\n"
        "from . import sibling\n"
    )
    # when their roots are collected
    roots = imported_roots(source)
    # then each library is found, relative imports ignored
    assert roots == WEB_LIBRARIES | DATABASE_LIBRARIES


def test_the_walls_cover_the_known_modules():
    # given the auth and health domains
    # when the modules under each wall are listed
    services = {_name(p) for p in service_modules()}
    doors = {_name(p) for p in door_modules()}
    # then the checks below are not vacuous
    assert {"smbfinance/auth/service.py", "smbfinance/health/service.py"} <= services
    assert {"smbfinance/auth/rest.py", "smbfinance/auth/graphql.py",
            "smbfinance/health/rest.py"} <= doors


@pytest.mark.parametrize("path", service_modules(), ids=_name)
def test_a_service_imports_no_web_or_graphql_library(path):
    # given a service module
    # when its imports are read
    forbidden = imported_roots(path.read_text()) & WEB_LIBRARIES
    # then none is flask, strawberry, marshmallow, flask_smorest or webargs
    assert forbidden == set()


@pytest.mark.parametrize("path", door_modules(), ids=_name)
def test_a_door_imports_no_sqlalchemy(path):
    # given a REST or GraphQL module
    # when its imports are read
    forbidden = imported_roots(path.read_text()) & DATABASE_LIBRARIES
    # then it reaches the database only through a service
    assert forbidden == set()
