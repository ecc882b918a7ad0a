"""A documented class as its users see it: no set-up code, no internal types or bases.

An instance attribute shows its type (the ``__init__`` parameter's when it is set straight
from one, the class's when it is set to a new instance of one) but not the expression
``__init__`` computes it with, unless that is a literal (``polls = 0``); one that holds an
object of a private class is left out. A field with a default is an instance attribute, not
also a class attribute, and shows the default its ``field(default=...)`` gives. A parameter
whose default is a private sentinel (``_UNSET``) shows ``...``. A base class of the SDK's own
that the site does not document gives its public members to the class and is listed as its
own bases instead (``R7Client`` shows ``aclose``, not ``Bases: ClientBase``)."""

from __future__ import annotations

import ast
from collections.abc import Callable

from griffe import (
    Alias,
    AliasResolutionError,
    Attribute,
    Class,
    CyclicAliasError,
    Expr,
    ExprBoolOp,
    ExprCall,
    ExprIfExp,
    ExprKeyword,
    ExprName,
    Function,
    Parameters,
)

#: whether a class is one of the SDK's own that no page documents
Internal = Callable[[Class], bool]

_BUILTIN_TYPES = frozenset({"bool", "dict", "float", "frozenset", "int", "list", "set", "str"})


def _literal(value: str | Expr | None) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return False
    return True


def tidy_attributes(cls: Class) -> None:
    """Drop what ``__init__`` computes ``cls``'s instance attributes with (and an attribute
    that holds an object of a private class), and the ``class-attribute`` label of a field (a
    dataclass's, a struct's) that has a default."""
    init = cls.members.get("__init__")
    parameters = init.parameters if isinstance(init, Function) else None
    for member in list(cls.members.values()):
        if isinstance(member, Alias) or not isinstance(member, Attribute):
            continue
        if _private_instance(member.value):
            cls.del_member(member.name)
            continue
        if "instance-attribute" not in member.labels:
            continue
        if "class-attribute" in member.labels:  # a field: its value is its default
            member.labels.discard("class-attribute")
            member.value = _field_default(member.value)
            continue
        if _literal(member.value):
            continue
        if member.annotation is None:
            member.annotation = _type_of(member.value, parameters)
        member.value = None


def _private_instance(value: str | Expr | None) -> bool:
    """Whether ``value`` makes an object of a private class (``_Health(...)``)."""
    return (
        isinstance(value, ExprCall)
        and isinstance(value.function, ExprName)
        and value.function.name.startswith("_")
        and value.function.name[1:2].isupper()
    )


def _field_default(value: str | Expr | None) -> str | Expr | None:
    """A field's default: ``X`` of ``field(default=X, ...)``, none for a default factory."""
    if isinstance(value, ExprCall) and str(value.function).rsplit(".", 1)[-1] == "field":
        keywords = [argument for argument in value.arguments if isinstance(argument, ExprKeyword)]
        return next((keyword.value for keyword in keywords if keyword.name == "default"), None)
    return value


def _type_of(value: str | Expr | None, parameters: Parameters | None) -> str | Expr | None:
    """The type of what ``__init__`` sets: a parameter as it is, or a new instance (also as
    the fallback of an ``or`` or an ``if``: ``retry or RetryPolicy()``)."""
    if isinstance(value, ExprName) and parameters and value.name in parameters:
        return parameters[value.name].annotation
    if isinstance(value, ExprBoolOp) and value.operator == "or":
        return _type_of(value.values[-1], parameters)
    if isinstance(value, ExprIfExp):
        return _type_of(value.orelse, parameters) or _type_of(value.body, parameters)
    if isinstance(value, ExprCall) and isinstance(value.function, ExprName):
        name = value.function.name
        if name[:1].isupper() or name in _BUILTIN_TYPES:
            return value.function
    return None


def tidy_defaults(func: Function) -> None:
    """Show ``...`` for a default that is a private name (a sentinel for "not given")."""
    for parameter in func.parameters:
        if str(parameter.default or "").startswith("_"):
            parameter.default = "..."


def _resolved(base: str | Expr, cls: Class) -> Class | None:
    path = getattr(base, "canonical_path", None)
    if not isinstance(path, str):
        return None
    try:
        found = cls.modules_collection[path]
        target = found.final_target if isinstance(found, Alias) else found
    except (KeyError, ValueError, AliasResolutionError, CyclicAliasError):
        return None  # out of reach: another library's class
    return target if isinstance(target, Class) else None


def flatten_internal_bases(cls: Class, internal: Internal) -> None:
    """Give ``cls`` the public members it inherits from internal bases, and list their
    bases in place of them."""
    bases: list[str | Expr] = []
    for expression in cls.bases:
        base = _resolved(expression, cls)
        if base is None or not internal(base):
            bases.append(expression)
            continue
        flatten_internal_bases(base, internal)
        for name, member in base.all_members.items():
            if not name.startswith("_") and name not in cls.members:
                cls.set_member(name, Alias(name, member, parent=cls))
        bases.extend(base.bases)
    cls.bases = bases
