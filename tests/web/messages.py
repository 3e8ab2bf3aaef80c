"""Every user-facing message of the console: the strings of ``_()`` in the templates and ``N_()`` in the
``opentoken.web`` modules."""

from __future__ import annotations

import ast
from pathlib import Path

import opentoken.web
from opentoken.web.render import Renderer

WEB = Path(opentoken.web.__file__).parent


def template_messages() -> dict[str, str]:
    """message -> the template it first appears in."""
    env = Renderer().environments["en"]
    found: dict[str, str] = {}
    for path in sorted((WEB / "templates").rglob("*.html")):
        for _line, _func, message in env.extract_translations(path.read_text("utf-8")):  # type: ignore[attr-defined]
            for text in message if isinstance(message, tuple) else (message,):
                if isinstance(text, str):
                    found.setdefault(text, path.name)
    return found


def code_messages() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(WEB.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "N_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, path.name)
    return found


def all_messages() -> dict[str, str]:
    return {**code_messages(), **template_messages()}
