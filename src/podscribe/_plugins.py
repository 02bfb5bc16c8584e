"""Load an engine class named in a registry ("module:Class") only when it is asked for."""

from __future__ import annotations

import importlib
from typing import Any

from .errors import OptionError


def load_plugin(registry: dict[str, str], name: str, kind: str, *args: Any, **kwargs: Any) -> Any:
    """Instantiate ``registry[name]``; OptionError naming the choices when ``name`` is unknown."""
    try:
        target = registry[name]
    except KeyError as e:
        raise OptionError(f"unknown {kind} {name!r} (choose from: {', '.join(registry)})") from e
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)(*args, **kwargs)
