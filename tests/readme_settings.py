"""The README's table of settings, rendered from the settings table.

``python -m tests.readme_settings`` rewrites it; a test fails when the README has drifted.
"""

from __future__ import annotations

from pathlib import Path

from threadcrash._errors import describe
from threadcrash._settings import OPTIONS

README = Path(__file__).resolve().parent.parent / "README.md"
START = "<!-- settings table: generated from threadcrash._settings.OPTIONS -->"
END = "<!-- end of settings table -->"


def render_table() -> str:
    """The table of settings, one row per option (Markdown)."""
    lines = [
        "| variable | keyword | default | meaning |",
        "|---|---|---|---|",
    ]
    for option in OPTIONS:
        variables = [name for name in (option.env, option.otel_env) if name]
        shown = " > ".join(f"`{name}`" for name in variables)
        default = option.shown_default
        if default is None:
            default = f"`{describe(option.default)}`" if option.default != "" else "empty"
        lines.append(f"| {shown} | `{option.name}` | {default} | {option.doc} |")
    return "\n".join(lines) + "\n"


def rewrite_readme(text: str) -> str:
    """``text`` with the block between the README markers replaced by :func:`render_table`."""
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError("README has no settings table markers")
    return f"{head}{START}\n{render_table()}{END}{tail}"


if __name__ == "__main__":
    README.write_text(rewrite_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
