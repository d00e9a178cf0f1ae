"""What the source-code parser looks for in each language's tree-sitter grammar.

Each language names its definition node types (with how to find the name and the members), the node types
to look through (export statements, preprocessor conditionals), its comments, and the node types of its imports
with how to find the imported module in each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tree_sitter import Node
from tree_sitter_language_pack import SupportedLanguage


@dataclass(frozen=True)
class Name:
    """The identifier node that names a definition, with qualifiers written in the definition itself.

    scope holds those qualifiers (a Go receiver type, the "A::" of a C++ "A::f", the "M." of a Lua "M.f");
    kind, when set, overrides the kind of the definition rule.
    """

    node: Node
    scope: tuple[str, ...] = ()
    kind: str | None = None


NameOf = Callable[[Node], Name | None]
ByteSpan = tuple[int, int]
# The byte spans of the module strings that an import node (or a require call) names.
ImportSpans = Callable[[Node], list[ByteSpan]]


def name_field(node: Node) -> Name | None:
    name = node.child_by_field_name("name")
    return Name(name) if name is not None else None


def span_of(node: Node | None) -> list[ByteSpan]:
    return [(node.start_byte, node.end_byte)] if node is not None else []


def _first_named(node: Node | None) -> Node | None:
    return node.named_children[0] if node is not None and node.named_children else None


@dataclass(frozen=True)
class Definition:
    """A node type that defines a symbol; members names the field that holds the members of a container."""

    kind: str
    name_of: NameOf = name_field
    members: str | None = None


@dataclass(frozen=True)
class CodeLanguage:
    grammar: SupportedLanguage
    definitions: Mapping[str, Definition]
    # Node types whose children are searched for definitions as if they stood in the node's place.
    transparent: frozenset[str]
    comments: frozenset[str]
    # Node types that import something, with how to find what.
    imports: Mapping[str, ImportSpans]
    # Node types that belong to the single definition they wrap, such as decorators or "export".
    wrappers: frozenset[str] = frozenset()
    # Sibling node types written just before a definition that belong to it, such as Rust attributes.
    attributes: frozenset[str] = frozenset()
    # The string node holding a definition's docstring, for languages that have docstrings.
    docstring_of: Callable[[Node], Node | None] | None = None


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def _first_of_type(node: Node, types: frozenset[str]) -> Node | None:
    """The first node of one of the types in a depth-first walk of node (meant for small subtrees)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in types:
            return current
        stack.extend(reversed(current.named_children))
    return None


# Python.


def _python_docstring(node: Node) -> Node | None:
    """The string node of a docstring: the first statement of a function or class body (comments skipped)."""
    body = node.child_by_field_name("body")
    statements = [child for child in body.named_children if child.type != "comment"] if body is not None else []
    first = statements[0] if statements else None
    if first is not None and first.type == "expression_statement" and first.named_child_count == 1:
        first = first.named_children[0]
    return first if first is not None and first.type == "string" else None


def _python_import(node: Node) -> list[ByteSpan]:
    """The modules of an import statement: a.b and c in "import a.b, c as d"."""
    spans: list[ByteSpan] = []
    for name in node.children_by_field_name("name"):
        spans.extend(span_of(name.child_by_field_name("name") if name.type == "aliased_import" else name))
    return spans


def _python_from_import(node: Node) -> list[ByteSpan]:
    """The module of a from-import: a.b in "from a.b import c", .a in "from .a import b"."""
    return span_of(node.child_by_field_name("module_name"))


# JavaScript and TypeScript.

_FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function"})


def _bound_function_name(field: str) -> NameOf:
    """For "const f = () => ..." and class fields holding functions: the name, when a function is bound."""

    def name_of(node: Node) -> Name | None:
        name = node.child_by_field_name(field)
        value = node.child_by_field_name("value")
        if name is None or value is None:
            return None
        if value.type in _FUNCTION_VALUES:
            return Name(name)
        return Name(name, kind="class") if value.type == "class" else None

    return name_of


_JS_DEFINITIONS: dict[str, Definition] = {
    "function_declaration": Definition("function"),
    "generator_function_declaration": Definition("function"),
    "class_declaration": Definition("class", members="body"),
    "method_definition": Definition("function"),
    "variable_declarator": Definition("function", _bound_function_name("name")),
    "field_definition": Definition("function", _bound_function_name("property")),
}
_TS_DEFINITIONS: dict[str, Definition] = {
    **_JS_DEFINITIONS,
    "abstract_class_declaration": Definition("class", members="body"),
    "function_signature": Definition("function"),
    "abstract_method_signature": Definition("function"),
    "public_field_definition": Definition("function", _bound_function_name("name")),
    "interface_declaration": Definition("interface"),
    "type_alias_declaration": Definition("type"),
    "enum_declaration": Definition("enum"),
    "internal_module": Definition("module", members="body"),
    "module": Definition("module", members="body"),
}
_JS_TRANSPARENT = frozenset(
    {"export_statement", "lexical_declaration", "variable_declaration", "expression_statement", "ambient_declaration"}
)


def _string_fragment(node: Node | None) -> list[ByteSpan]:
    """The text inside a JavaScript string literal."""
    if node is None or node.type != "string":
        return []
    return span_of(next((child for child in node.named_children if child.type == "string_fragment"), None))


def _js_source(node: Node) -> list[ByteSpan]:
    """The module of an import or re-export: ./y in "import x from './y'" and "export { x } from './y'"."""
    return _string_fragment(node.child_by_field_name("source"))


def _js_call(node: Node) -> list[ByteSpan]:
    """The module of a call to require or import: ./y in "require('./y')" and "import('./y')"."""
    function = node.child_by_field_name("function")
    is_require = function is not None and function.type == "identifier" and function.text == b"require"
    if not is_require and (function is None or function.type != "import"):
        return []
    return _string_fragment(_first_named(node.child_by_field_name("arguments")))


_JS_IMPORTS: dict[str, ImportSpans] = {
    "import_statement": _js_source,
    "export_statement": _js_source,
    "call_expression": _js_call,
}

# Go.


def _go_method_name(node: Node) -> Name | None:
    name = node.child_by_field_name("name")
    receiver = node.child_by_field_name("receiver")
    receiver_type = _first_of_type(receiver, frozenset({"type_identifier"})) if receiver is not None else None
    if name is None:
        return None
    return Name(name, (_text(receiver_type),) if receiver_type is not None else (), "method")


def _go_import(node: Node) -> list[ByteSpan]:
    """The path of an import spec, inside its quotes."""
    return span_of(_first_named(node.child_by_field_name("path")))


_GO_TYPE_KINDS = {"struct_type": "struct", "interface_type": "interface"}


def _go_type_name(node: Node) -> Name | None:
    name = node.child_by_field_name("name")
    value = node.child_by_field_name("type")
    kind = _GO_TYPE_KINDS.get(value.type, "type") if value is not None else "type"
    return Name(name, kind=kind) if name is not None else None


# Rust.


def _rust_impl_name(node: Node) -> Name | None:
    """An impl is named after the type it implements, without generic arguments or path."""
    target = node.child_by_field_name("type")
    while target is not None and target.type == "generic_type":
        target = target.child_by_field_name("type")
    if target is not None and target.type == "scoped_type_identifier":
        target = target.child_by_field_name("name")
    return Name(target) if target is not None else None


_RUST_PATH_HOLDERS = frozenset({"scoped_use_list", "use_as_clause"})


def _rust_use(node: Node) -> list[ByteSpan]:
    """The module path of a use declaration: "a::b" for "use a::b::{c, d}", "use a::b as c" and "use a::b::*"."""
    current = node.child_by_field_name("argument")
    while current is not None and (current.type in _RUST_PATH_HOLDERS or current.type == "use_wildcard"):
        current = _first_named(current) if current.type == "use_wildcard" else current.child_by_field_name("path")
    return span_of(current)


# Java.


def _java_import(node: Node) -> list[ByteSpan]:
    """From the imported name to the end of a trailing ".*"."""
    named = [child for child in node.named_children if child.type in ("scoped_identifier", "identifier", "asterisk")]
    return [(named[0].start_byte, named[-1].end_byte)] if named else []


# C and C++.

_C_NAMES = frozenset({"identifier", "field_identifier", "type_identifier", "destructor_name", "operator_name"})


def _c_declarator_name(node: Node) -> Name | None:
    """The name inside a declarator: through pointers, references, parentheses and "A::" qualifiers."""
    scope: list[str] = []
    target = node.child_by_field_name("declarator")
    while target is not None and target.type not in _C_NAMES:
        if target.type == "qualified_identifier":
            qualifier = target.child_by_field_name("scope")
            if qualifier is not None:
                scope.append(_text(qualifier))
            target = target.child_by_field_name("name")
        else:
            target = target.child_by_field_name("declarator") or _first_named(target)
    if target is None:
        return None
    return Name(target, tuple(scope), "method" if scope else None)


def _c_tagged_name(node: Node) -> Name | None:
    """A struct, union, enum or class that has a body; "struct point p;" only uses one."""
    if node.child_by_field_name("body") is None:
        return None
    return name_field(node)


_C_DEFINITIONS: dict[str, Definition] = {
    "function_definition": Definition("function", _c_declarator_name),
    "struct_specifier": Definition("struct", _c_tagged_name),
    "union_specifier": Definition("struct", _c_tagged_name),
    "enum_specifier": Definition("enum", _c_tagged_name),
    "type_definition": Definition("type", _c_declarator_name),
}
_CPP_DEFINITIONS: dict[str, Definition] = {
    **_C_DEFINITIONS,
    "struct_specifier": Definition("struct", _c_tagged_name, members="body"),
    "class_specifier": Definition("class", _c_tagged_name, members="body"),
    "namespace_definition": Definition("module", members="body"),
    "alias_declaration": Definition("type"),
}
_C_TRANSPARENT = frozenset(
    {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef", "linkage_specification"}
)


def _c_include(node: Node) -> list[ByteSpan]:
    """A quoted include's file, inside its quotes; "#include <x.h>" names a system header, not a workspace file."""
    path = node.child_by_field_name("path")
    return span_of(_first_named(path)) if path is not None and path.type == "string_literal" else []


_C_IMPORTS: dict[str, ImportSpans] = {"preproc_include": _c_include}

# Lua.


def _lua_function_name(node: Node) -> Name | None:
    """The name of a Lua function: f, M.f (a function in table M) or M:f (a method of M)."""
    name = node.child_by_field_name("name")
    if name is None or name.type == "identifier":
        return Name(name) if name is not None else None
    table = name.child_by_field_name("table")
    scope = tuple(_text(table).split(".")) if table is not None else ()
    if name.type == "method_index_expression":
        method = name.child_by_field_name("method")
        return Name(method, scope, "method") if method is not None else None
    field = name.child_by_field_name("field")
    return Name(field, scope) if field is not None else None


def _lua_require(node: Node) -> list[ByteSpan]:
    """The module a call to require names: x in "require('x')" and "require 'x'"."""
    name = node.child_by_field_name("name")
    if name is None or name.type != "identifier" or name.text != b"require":
        return []
    argument = _first_named(node.child_by_field_name("arguments"))
    if argument is None or argument.type != "string":
        return []
    return span_of(argument.child_by_field_name("content"))


# Shell.

_QUOTED = frozenset({"string", "raw_string"})
_SOURCE_COMMANDS = frozenset({b"source", b"."})


def _shell_source(node: Node) -> list[ByteSpan]:
    """The file that "source x" or ". x" reads, inside its quotes when it is quoted."""
    name = node.child_by_field_name("name")
    arguments = node.children_by_field_name("argument")
    if name is None or name.text not in _SOURCE_COMMANDS or not arguments:
        return []
    argument = arguments[0]
    if argument.type in _QUOTED and argument.end_byte - argument.start_byte >= 2:
        return [(argument.start_byte + 1, argument.end_byte - 1)]
    return span_of(argument)


_ERROR = frozenset({"ERROR"})

LANGUAGES: dict[str, CodeLanguage] = {
    "python": CodeLanguage(
        grammar="python",
        definitions={
            "function_definition": Definition("function"),
            "class_definition": Definition("class", members="body"),
        },
        transparent=_ERROR | {"decorated_definition"},
        comments=frozenset({"comment"}),
        imports={"import_statement": _python_import, "import_from_statement": _python_from_import},
        wrappers=frozenset({"decorated_definition"}),
        docstring_of=_python_docstring,
    ),
    "javascript": CodeLanguage(
        grammar="javascript",
        definitions=_JS_DEFINITIONS,
        transparent=_ERROR | _JS_TRANSPARENT,
        comments=frozenset({"comment"}),
        imports=_JS_IMPORTS,
        wrappers=_JS_TRANSPARENT,
    ),
    "typescript": CodeLanguage(
        grammar="typescript",
        definitions=_TS_DEFINITIONS,
        transparent=_ERROR | _JS_TRANSPARENT,
        comments=frozenset({"comment"}),
        imports=_JS_IMPORTS,
        wrappers=_JS_TRANSPARENT,
    ),
    "tsx": CodeLanguage(
        grammar="tsx",
        definitions=_TS_DEFINITIONS,
        transparent=_ERROR | _JS_TRANSPARENT,
        comments=frozenset({"comment"}),
        imports=_JS_IMPORTS,
        wrappers=_JS_TRANSPARENT,
    ),
    "go": CodeLanguage(
        grammar="go",
        definitions={
            "function_declaration": Definition("function"),
            "method_declaration": Definition("function", _go_method_name),
            "type_spec": Definition("type", _go_type_name),
            "type_alias": Definition("type"),
        },
        transparent=_ERROR | {"type_declaration"},
        comments=frozenset({"comment"}),
        imports={"import_spec": _go_import},
        wrappers=frozenset({"type_declaration"}),
    ),
    "rust": CodeLanguage(
        grammar="rust",
        definitions={
            "function_item": Definition("function"),
            "function_signature_item": Definition("function"),
            "struct_item": Definition("struct"),
            "union_item": Definition("struct"),
            "enum_item": Definition("enum"),
            "trait_item": Definition("trait", members="body"),
            "impl_item": Definition("impl", _rust_impl_name, members="body"),
            "mod_item": Definition("module", members="body"),
            "type_item": Definition("type"),
        },
        transparent=_ERROR,
        comments=frozenset({"line_comment", "block_comment"}),
        imports={"use_declaration": _rust_use},
        attributes=frozenset({"attribute_item"}),
    ),
    "java": CodeLanguage(
        grammar="java",
        definitions={
            "class_declaration": Definition("class", members="body"),
            "record_declaration": Definition("class", members="body"),
            "interface_declaration": Definition("interface", members="body"),
            "annotation_type_declaration": Definition("interface"),
            "enum_declaration": Definition("enum", members="body"),
            "method_declaration": Definition("function"),
            "constructor_declaration": Definition("function"),
        },
        transparent=_ERROR | {"enum_body_declarations"},
        comments=frozenset({"line_comment", "block_comment"}),
        imports={"import_declaration": _java_import},
    ),
    "c": CodeLanguage(
        grammar="c",
        definitions=_C_DEFINITIONS,
        transparent=_ERROR | _C_TRANSPARENT | {"declaration_list"},
        comments=frozenset({"comment"}),
        imports=_C_IMPORTS,
    ),
    "cpp": CodeLanguage(
        grammar="cpp",
        definitions=_CPP_DEFINITIONS,
        transparent=_ERROR | _C_TRANSPARENT | {"declaration_list", "template_declaration"},
        comments=frozenset({"comment"}),
        imports=_C_IMPORTS,
        wrappers=frozenset({"template_declaration"}),
    ),
    "lua": CodeLanguage(
        grammar="lua",
        definitions={"function_declaration": Definition("function", _lua_function_name)},
        transparent=_ERROR,
        comments=frozenset({"comment"}),
        imports={"function_call": _lua_require},
    ),
    "bash": CodeLanguage(
        grammar="bash",
        definitions={"function_definition": Definition("function")},
        transparent=_ERROR,
        comments=frozenset({"comment"}),
        imports={"command": _shell_source},
    ),
}
