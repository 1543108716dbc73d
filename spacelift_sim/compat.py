"""Leniency for documents real clients send that strict GraphQL parsers reject.

The official Backstage plugin sends `query GetStacks () { ... }`: an empty variable list, which
the GraphQL grammar forbids but Spacelift evidently accepts. We drop such `()` before parsing.
"""

from __future__ import annotations

import re

from graphql import GraphQLError
from graphql.language import Lexer, Source, TokenKind

_MAYBE_EMPTY_PARENS = re.compile(r"\(\s*\)")
_OPERATION_KEYWORDS = frozenset({"query", "mutation", "subscription"})


def drop_empty_variable_lists(document: str) -> str:
    """The document with every empty operation variable list `()` removed.

    Uses the GraphQL lexer, so `()` inside strings, comments or selections is left alone.
    A document the lexer cannot read is returned unchanged for the parser to report.
    """
    if not _MAYBE_EMPTY_PARENS.search(document):
        return document
    cuts: list[tuple[int, int]] = []
    lexer = Lexer(Source(document))
    depth = 0
    recent: list = []  # the last few top-level tokens
    try:
        token = lexer.advance()
        while token.kind != TokenKind.EOF:
            if token.kind == TokenKind.BRACE_L:
                depth += 1
            elif token.kind == TokenKind.BRACE_R:
                depth -= 1
            if depth == 0 and token.kind != TokenKind.BRACE_R:
                recent = [*recent[-3:], token]
                if _is_empty_list_after_operation(recent):
                    cuts.append((recent[-2].start, recent[-1].end))
            token = lexer.advance()
    except GraphQLError:
        return document
    for start, end in reversed(cuts):
        document = document[:start] + document[end:]
    return document


def _is_empty_list_after_operation(tokens: list) -> bool:
    if len(tokens) < 3 or tokens[-1].kind != TokenKind.PAREN_R:
        return False
    if tokens[-2].kind != TokenKind.PAREN_L:
        return False
    keyword = tokens[-3]
    if keyword.kind == TokenKind.NAME and keyword.value in _OPERATION_KEYWORDS:
        return True  # anonymous: `query () {`
    return (
        len(tokens) >= 4
        and keyword.kind == TokenKind.NAME
        and tokens[-4].kind == TokenKind.NAME
        and tokens[-4].value in _OPERATION_KEYWORDS
    )
