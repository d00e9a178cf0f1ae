"""What the source-code parser looks for in each language's tree-sitter grammar.

Each language names its definition node types (with how to find the name and the members), the node types
to look through (export statements, preprocessor conditionals), its comments, and a query for its imports.
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
# The byte span of an import node's module string, or None when the node imports nothing usable.
ImportSpan = Callable[[Node], tuple[int, int] | None]


def name_field(node: Node) -> Name | None:
    name = node.child_by_field_name("name")
    return Name(name) if name is not None else None


def whole_node(node: Node) -> tuple[int, int] | None:
    return node.start_byte, node.end_byte


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
    # A query whose captures named "import" are the module strings of imports.
    import_query: str
    import_span: ImportSpan = whole_node
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


def _python_docstring_holder(node: Node) -> Node | None:
    """The string node of a docstring: the first statement of a function or class body."""
    body = node.child_by_field_name("body")
    first = body.named_children[0] if body is not None and body.named_children else None
    if first is not None and first.type == "expression_statement" and first.named_child_count == 1:
        first = first.named_children[0]
    return first if first is not None and first.type == "string" else None


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
_JS_IMPORTS = """
(import_statement source: (string (string_fragment) @import))
(export_statement source: (string (string_fragment) @import))
((call_expression function: (identifier) @function arguments: (arguments . (string (string_fragment) @import)))
 (#eq? @function "require"))
(call_expression function: (import) arguments: (arguments . (string (string_fragment) @import)))
"""

# Go.


def _go_method_name(node: Node) -> Name | None:
    name = node.child_by_field_name("name")
    receiver = node.child_by_field_name("receiver")
    receiver_type = _first_of_type(receiver, frozenset({"type_identifier"})) if receiver is not None else None
    if name is None:
        return None
    return Name(name, (_text(receiver_type),) if receiver_type is not None else (), "method")


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


def _rust_use_span(node: Node) -> tuple[int, int] | None:
    """The module path of a use declaration: "a::b" for "use a::b::{c, d}", "use a::b as c" and "use a::b::*"."""
    current: Node | None = node
    while current is not None and (current.type in _RUST_PATH_HOLDERS or current.type == "use_wildcard"):
        if current.type == "use_wildcard":
            current = current.named_children[0] if current.named_children else None
        else:
            current = current.child_by_field_name("path")
    return (current.start_byte, current.end_byte) if current is not None else None


# Java.


def _java_import_span(node: Node) -> tuple[int, int] | None:
    """From the imported name to the end of a trailing ".*"."""
    named = [child for child in node.named_children if child.type in ("scoped_identifier", "identifier", "asterisk")]
    return (named[0].start_byte, named[-1].end_byte) if named else None


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
            target = target.child_by_field_name("declarator") or (
                target.named_children[0] if target.named_children else None
            )
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
_C_IMPORTS = "(preproc_include path: (string_literal (string_content) @import))"

# Lua.


def _lua_function_name(node: Node) -> Name | None:
    """ "f", "M.f" (a function in table M) or "M:f" (a method of M)."""
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


# Shell.

_QUOTED = frozenset({"string", "raw_string"})


def _shell_source_span(node: Node) -> tuple[int, int] | None:
    """The sourced file, inside its quotes when it is quoted."""
    if node.type in _QUOTED and node.end_byte - node.start_byte >= 2:
        return node.start_byte + 1, node.end_byte - 1
    return node.start_byte, node.end_byte


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
        import_query="""
        (import_statement name: (dotted_name) @import)
        (import_statement name: (aliased_import name: (dotted_name) @import))
        (import_from_statement module_name: (_) @import)
        """,
        wrappers=frozenset({"decorated_definition"}),
        docstring_of=_python_docstring_holder,
    ),
    "javascript": CodeLanguage(
        grammar="javascript",
        definitions=_JS_DEFINITIONS,
        transparent=_ERROR | _JS_TRANSPARENT,
        comments=frozenset({"comment"}),
        import_query=_JS_IMPORTS,
        wrappers=_JS_TRANSPARENT,
    ),
    "typescript": CodeLanguage(
        grammar="typescript",
        definitions=_TS_DEFINITIONS,
        transparent=_ERROR | _JS_TRANSPARENT,
        comments=frozenset({"comment"}),
        import_query=_JS_IMPORTS,
        wrappers=_JS_TRANSPARENT,
    ),
    "tsx": CodeLanguage(
        grammar="tsx",
        definitions=_TS_DEFINITIONS,
        transparent=_ERROR | _JS_TRANSPARENT,
        comments=frozenset({"comment"}),
        import_query=_JS_IMPORTS,
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
        import_query="(import_spec path: (interpreted_string_literal (interpreted_string_literal_content) @import))",
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
        import_query="(use_declaration argument: (_) @import)",
        import_span=_rust_use_span,
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
        import_query="(import_declaration) @import",
        import_span=_java_import_span,
    ),
    "c": CodeLanguage(
        grammar="c",
        definitions=_C_DEFINITIONS,
        transparent=_ERROR | _C_TRANSPARENT | {"declaration_list"},
        comments=frozenset({"comment"}),
        import_query=_C_IMPORTS,
    ),
    "cpp": CodeLanguage(
        grammar="cpp",
        definitions=_CPP_DEFINITIONS,
        transparent=_ERROR | _C_TRANSPARENT | {"declaration_list", "template_declaration"},
        comments=frozenset({"comment"}),
        import_query=_C_IMPORTS,
        wrappers=frozenset({"template_declaration"}),
    ),
    "lua": CodeLanguage(
        grammar="lua",
        definitions={"function_declaration": Definition("function", _lua_function_name)},
        transparent=_ERROR,
        comments=frozenset({"comment"}),
        import_query="""
        ((function_call name: (identifier) @function arguments: (arguments . (string content: (_) @import)))
         (#eq? @function "require"))
        """,
    ),
    "bash": CodeLanguage(
        grammar="bash",
        definitions={"function_definition": Definition("function")},
        transparent=_ERROR,
        comments=frozenset({"comment"}),
        import_query="""
        ((command name: (command_name) @command . argument: (_) @import) (#match? @command "^(source|\\\\.)$"))
        """,
        import_span=_shell_source_span,
    ),
}
