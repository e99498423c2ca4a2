"""Build aiogram's pydantic validators when a type is first used, not all at import (issue 19).

`aiogram/types/__init__.py` ends with a loop calling `model_rebuild()` on each of its ~900
types, and `aiogram.methods` builds its ~190 methods as it defines them: `import aiogram` takes
the process from 18 MB to 166 MB RSS and about 4 s of CPU (aiogram 3.31, pydantic 2.13), although
a bot uses a few dozen of them. Every type is declared `defer_build=True`; the loop only exists
because the types name each other under `if TYPE_CHECKING:` imports, so a later build could not
resolve those names.

`install()` imports aiogram with that loop turned into a no-op that keeps its namespace (every
type by name), then makes it the pydantic "parent namespace" of every type and method, where
the names the `TYPE_CHECKING` imports would have given are looked up. pydantic then builds a
model's validator and serializer the first time the model is validated or dumped, through its
own deferred-build path (`MockValSer` -> `model_rebuild()`). The methods, defined while their types
were not buildable yet, take the same path. Figures (this machine): `import aiogram` 166 -> 65
MB RSS, 4.2 -> 0.9 s CPU; the first `Update` costs about 0.1 s and 3 MB once.

It must run before anything imports `aiogram.types`; `bot/__init__.py` calls it, so importing
any `bot.*` module first is enough (main.py and tests/conftest.py do). If aiogram is already
imported, it does nothing. `install(eager=True)` builds everything as aiogram does.
"""

from __future__ import annotations

import sys
from typing import Any

_installed = False


def install(*, eager: bool = False) -> None:
    """Import aiogram with its types' validators deferred to their first use."""
    global _installed
    if _installed or eager or "aiogram.types" in sys.modules:
        import aiogram

        _installed = True
        return
    from pydantic import BaseModel

    rebuild = BaseModel.__dict__["model_rebuild"]
    namespace: dict[str, Any] = {}

    def keep_namespace(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        types_namespace = kwargs.get("_types_namespace")
        if types_namespace is not None and cls.__module__.startswith("aiogram.types."):
            namespace.update(types_namespace)
            return None
        if kwargs.get("_parent_namespace_depth", 2) > 0:  # one frame more: this one
            kwargs["_parent_namespace_depth"] = kwargs.get("_parent_namespace_depth", 2) + 1
        return rebuild.__func__(cls, **kwargs)  # type: ignore[no-any-return]

    BaseModel.model_rebuild = classmethod(keep_namespace)  # type: ignore[method-assign,assignment]
    try:
        import aiogram  # noqa: F401
    finally:
        type.__setattr__(BaseModel, "model_rebuild", rebuild)
    # A model built later resolves the names its types import only under `TYPE_CHECKING` from
    # this one shared namespace: pydantic's "parent namespace" of the model being built (a type,
    # a method, or a method's `Response[...]`, which inherits it from `Response`), used for its
    # nested types too. Copying the names into each of the ~440 type modules instead took
    # 5.6 MB of module dictionaries.
    for name, module in list(sys.modules.items()):
        if name.startswith(("aiogram.types.", "aiogram.methods.")) and module is not None:
            for value in list(vars(module).values()):
                if (
                    isinstance(value, type)
                    and issubclass(value, BaseModel)
                    and value.__module__ == name
                ):
                    value.__pydantic_parent_namespace__ = namespace
    _installed = True
