"""Regenerate the README's table of settings: ``python -m tests.readme_settings``."""

from __future__ import annotations

from pathlib import Path

from threadcrash._settings import rewrite_readme

README = Path(__file__).resolve().parent.parent / "README.md"

if __name__ == "__main__":
    README.write_text(rewrite_readme(README.read_text(encoding="utf-8")), encoding="utf-8")
