"""Type names, cut messages and fingerprints at the edges."""

from __future__ import annotations

from threadcrash import _format

CODE = compile("pass", "/app/jobs.py", "exec")


class Outer:
    class InnerError(Exception):
        """An exception class nested in another class."""


def test_a_nested_exception_class_is_named_by_its_qualified_name() -> None:
    """``Outer.InnerError`` keeps its outer class, as CPython prints it."""
    assert _format.type_name(Outer.InnerError) == f"{__name__}.Outer.InnerError"


def test_a_type_with_an_empty_qualname_falls_back_to_its_name() -> None:
    """A class whose __qualname__ was blanked is named by its __name__, never "?"."""
    odd = type("OddError", (Exception,), {})
    odd.__qualname__ = ""
    assert _format.type_name(odd) == f"{__name__}.OddError"


def test_a_message_is_cut_with_a_count_of_what_was_left_out() -> None:
    """A text at its limit is kept; a longer one ends in "... [N more characters]"."""
    assert _format.truncate("x" * 50, 50) == "x" * 50
    cut = _format.truncate("x" * 100, 50)
    assert cut == "x" * 26 + "... [50 more characters]"
    assert _format.truncate("x" * 100, 24) == "x" * 24  # no room for the marker


def test_fingerprints_tell_modules_apart_and_survive_odd_module_names() -> None:
    """Same function name in two modules: two groups; a name with a lone surrogate still works."""

    def stack(module: str) -> list[_format.Frame]:
        return [("/app/jobs.py", 1, "run", CODE, {"__name__": module})]

    assert _format.fingerprint("ValueError", stack("billing")) != _format.fingerprint(
        "ValueError", stack("shipping")
    )
    odd = _format.fingerprint("ValueError", stack("mod\udc80"))
    assert odd == _format.fingerprint("ValueError", stack("mod\udc80"))
    assert len(odd) == 16
