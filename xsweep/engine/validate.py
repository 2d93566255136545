"""Checks that catch bad input before a long run starts."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..errors import FunctionSignatureError, NotPicklableError


def describe_fn(fn: Callable) -> str:
    """A readable name for ``fn``: ``module.qualname`` when it has one."""
    target = getattr(fn, "func", fn)  # functools.partial
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{name}" if module else name


def check_signature(
    fn: Callable,
    names: Iterable[str],
    constants: Mapping[str, Any] | None = None,
    resources: Mapping[str, Any] | None = None,
) -> None:
    """Check that ``fn`` accepts exactly the arguments a sweep will pass.

    Raises
    ------
    FunctionSignatureError
        If a required argument is given by none of combos, constants and
        resources, if an argument is not accepted (and ``fn`` has no
        ``**kwargs``), or if ``fn`` is not callable.
    """
    if not callable(fn):
        raise FunctionSignatureError(
            f"the function to sweep must be callable, got {fn!r}."
        )
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: trust them
        return
    given = {"combos": list(names)}
    given["constants"] = list(constants or ())
    given["resources"] = list(resources or ())
    supplied = {n for group in given.values() for n in group}
    params = signature.parameters.values()
    by_name = {
        p.name: p for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    name = describe_fn(fn)
    positional_only = [
        p.name for p in params if p.kind == p.POSITIONAL_ONLY and p.default is p.empty
    ]
    if positional_only:
        raise FunctionSignatureError(
            f"{name}{signature} has positional-only argument(s) "
            f"{positional_only}, but a sweep passes every argument by name. "
            "Wrap the function in one that takes them by name."
        )
    missing = [
        p.name
        for p in by_name.values()
        if p.default is p.empty and p.name not in supplied
    ]
    if missing:
        raise FunctionSignatureError(
            f"{name}{signature} needs argument(s) {missing} that are in none of "
            f"the combos {given['combos']}, constants {given['constants']} or "
            f"resources {given['resources']}. Add them to one of those, or give "
            "them default values."
        )
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return
    for group, group_names in given.items():
        unknown = [n for n in group_names if n not in by_name]
        if unknown:
            raise FunctionSignatureError(
                f"{name}{signature} does not take argument(s) {unknown} given in "
                f"{group}. Remove them from {group}, rename them to match the "
                "function, or add **kwargs to the function."
            )


def pickle_payload(payload: Any, fn: Callable) -> bytes:
    """Cloudpickle what process workers need, or explain how to fix it.

    Raises
    ------
    NotPicklableError
        Naming the function and the pickling error, with the usual fixes.
    """
    import cloudpickle

    try:
        return cloudpickle.dumps(payload)
    except Exception as exc:
        raise NotPicklableError(
            f"cannot send {describe_fn(fn)} (with its combos, constants and "
            f"resources) to worker processes: {type(exc).__name__}: {exc}. "
            "Fix: define the function at module level and make sure nothing it "
            "refers to (closure variables, globals, constants, resources) holds "
            "locks, open files, sockets, generators or other unpicklable "
            "objects; create such objects inside the function instead. Or run "
            "in this process (num_workers=None) or with a thread executor."
        ) from exc
