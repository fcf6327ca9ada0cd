"""The shared mechanics of a source installed as an interpreter hook itself."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .._reporter import Reporter


class InstalledHook:
    """Installed as ``module.attribute`` itself, so ``module.attribute is hook`` tells ownership.

    ``install()`` remembers the previous hook; ``uninstall()`` restores it only if we are still
    the installed hook, and otherwise leaves us in place, inert, still chaining. Subclasses
    report in ``__call__`` while :attr:`active` and then call :meth:`chain`.
    """

    module: ModuleType
    attribute: str
    default_attribute: str

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._chain = reporter.settings.chain
        self._previous: Any = None
        self.active = False

    def install(self) -> None:
        self._previous = getattr(self.module, self.attribute)
        setattr(self.module, self.attribute, self)
        self.active = True

    def uninstall(self) -> None:
        self.active = False
        if getattr(self.module, self.attribute) is self:
            setattr(self.module, self.attribute, self._previous)

    def chain(self, reported: bool, *args: Any) -> None:
        """Call the previous hook with the same arguments, unless told not to and we reported."""
        if self._chain or not reported:
            previous = self._previous or getattr(self.module, self.default_attribute)
            previous(*args)
