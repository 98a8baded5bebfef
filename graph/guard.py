"""The exploration guard: reject Cypher that could write before it reaches the server.

This is the first of two walls. The query is split into tokens by a lexer that
knows Cypher's string literals (``'...'`` and ``"..."`` with backslash escapes),
quoted names (`` `...` `` with doubled backticks), line and block comments and
parameters, so a write clause cannot hide behind a quote or a comment marker
inside a literal. Clause keywords are then looked for among the bare words only.
The second wall is the server: exploration runs as the embedded server's
read-only account, or in a read transaction on Neo4j (see
:meth:`kgrec.graph.GraphStore.cypher`), so a write that got past this check still fails.

The guard fails closed: an unterminated literal or comment, a procedure outside
:data:`READ_PROCEDURES`, or a keyword used as a bare variable name is rejected
(but for the places no clause can stand, :func:`_keywords`: ``(start:User)``,
``{set: 1}``, ``AS use``, and such a name before ``.``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from kgrec.errors import WriteQueryRejectedError

# A line comment ends at \n or \r, as in Cypher's lexers (Neo4j's, ArcadeDB's).
_LINE_ENDS: Final = ("\n", "\r")
# Line ends of other lexers: a comment holding one is refused, since a server that
# ends the comment there would read what follows as code, and one that does not
# would read it as comment (either reading can hide a clause from the other).
_OTHER_LINE_ENDS: Final = ("\u2028", "\u2029", "\u0085", "\x0b", "\x0c")

# A number literal's text: decimal (underscores, fraction, exponent), hex, octal. A
# lexer that reads ``1LOAD`` as ``1`` and ``LOAD`` runs ``LIMIT 1LOAD CSV ...``, so
# the letters after the literal are tokenized as a word of their own.
_NUMBER: Final = re.compile(
    r"0[xX][0-9a-fA-F_]*|0[oO][0-7_]*|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][0-9_]*)?"
)

TokenKind = Literal["word", "quoted", "string", "number", "param", "symbol"]

# Words that start a write or administration clause wherever they stand as a bare word.
WRITE_KEYWORDS: Final = frozenset(
    {
        "CREATE",
        "INSERT",
        "MERGE",
        "SET",
        "DELETE",
        "DETACH",
        "NODETACH",
        "REMOVE",
        "DROP",
        "FOREACH",
        "LOAD",
        "ALTER",
        "RENAME",
        "GRANT",
        "DENY",
        "REVOKE",
        "TERMINATE",
        "START",
        "STOP",
        "ENABLE",
        "DEALLOCATE",
        "REALLOCATE",
        "USE",
    }
)
# Words after which an expression starts: a bare ``as`` right after one of these (or
# after a symbol other than a closing bracket) is a variable, never the keyword AS.
# Cypher's reserved words (but the literals and END, which close an expression) and
# the newer clauses' words: a word missing here makes only a variable named ``as``
# after it read as the keyword, so the list errs towards more words.
_EXPRESSION_OPENERS: Final = WRITE_KEYWORDS | frozenset(
    {"WITH", "RETURN", "DISTINCT", "WHERE", "AND", "OR", "XOR", "NOT", "IN", "IS", "BY"}
    | {"SKIP", "OFFSET", "LIMIT", "CASE", "WHEN", "THEN", "ELSE", "UNWIND", "YIELD"}
    | {"CONTAINS", "STARTS", "ENDS", "MATCH", "OPTIONAL", "UNION", "ALL", "ON", "EXISTS"}
    | {"ORDER", "USING", "LET", "FILTER", "NEXT", "FINISH", "AS", "CALL", "SHOW", "COUNT"}
    | {"COLLECT", "ANY", "NONE", "SINGLE", "REDUCE", "SHORTESTPATH", "ALLSHORTESTPATHS"}
    | {"ASC", "DESC", "ASCENDING", "DESCENDING", "FROM", "FOR", "DO", "OF", "REQUIRE"}
    | {"MANDATORY", "SCALAR", "GRAPH", "CONSTRUCT", "ADD", "ASSERT", "CSV", "JOIN", "SCAN"}
    | {"INDEX", "CONSTRAINT", "NODE", "KEY", "UNIQUE", "EXCEPT"}
)
# ``CALL { ... } IN [CONCURRENT] TRANSACTIONS``: the word before TRANSACTIONS.
_IN_TRANSACTIONS: Final = frozenset({"IN", "CONCURRENT"})
# SHOW is allowed for these (optionally after modifiers such as ALL, RANGE, UNIQUE).
SHOW_ALLOWED: Final = frozenset(
    {"INDEX", "INDEXES", "CONSTRAINT", "CONSTRAINTS", "FUNCTION", "FUNCTIONS"}
    | {"PROCEDURE", "PROCEDURES"}
)
_SHOW_MODIFIERS: Final = frozenset(
    {"ALL", "RANGE", "TEXT", "POINT", "VECTOR", "FULLTEXT", "LOOKUP", "BTREE", "UNIQUE"}
    | {"UNIQUENESS", "EXIST", "EXISTENCE", "KEY", "NODE", "RELATIONSHIP", "REL", "PROPERTY"}
    | {"TYPE", "BUILT", "IN", "USER", "DEFINED"}
)
# Procedures that only read; any other CALL is treated as a possible write.
READ_PROCEDURES: Final = frozenset(
    {
        "db.labels",
        "db.relationshiptypes",
        "db.propertykeys",
        "db.schema.visualization",
        "db.schema.nodetypeproperties",
        "db.schema.reltypeproperties",
        "db.indexes",
        "db.constraints",
        "db.info",
        "dbms.components",
        "dbms.procedures",
        "dbms.functions",
    }
)

# Namespaces of the functions an exploration query may call by a dotted name
# (Cypher's temporal, spatial and vector functions). Any other dotted call is
# rejected: ArcadeDB's Cypher calls every SQL function as ``sql.<name>()``, and
# ``sql.eval`` runs SQL UPDATE, DELETE or TRUNCATE, in a read transaction too.
READ_FUNCTION_NAMESPACES: Final = frozenset(
    {"date", "datetime", "localdatetime", "localtime", "time", "duration", "point", "vector"}
)


@dataclass(frozen=True)
class Token:
    """One lexical token of a Cypher query.

    Attributes:
        kind: ``word`` (identifier or keyword), ``quoted`` (a backticked name),
            ``string``, ``number``, ``param`` (``$name``) or ``symbol`` (one character).
        text: the token's text; for ``quoted`` and ``string`` the content without quotes.
        start: offset of the token's first character in the query.
    """

    kind: TokenKind
    text: str
    start: int


def _reject(message: str) -> WriteQueryRejectedError:
    return WriteQueryRejectedError(f"exploration query rejected: {message}")


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _skip_string(query: str, start: int) -> int:
    """Offset after the string literal opening at ``start`` (backslash escapes the next char)."""
    quote, i, n = query[start], start + 1, len(query)
    while i < n:
        ch = query[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            return i + 1
        i += 1
    raise _reject(f"the string literal opened at offset {start} is not closed")


def _skip_quoted_name(query: str, start: int) -> int:
    """Offset after the backticked name opening at ``start`` (two backticks stand for one)."""
    i, n = start + 1, len(query)
    while i < n:
        if query[i] == "`":
            if i + 1 < n and query[i + 1] == "`":
                i += 2
                continue
            return i + 1
        i += 1
    raise _reject(f"the quoted name opened at offset {start} is not closed")


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens; comments and whitespace are dropped.

    Raises:
        WriteQueryRejectedError: a string, quoted name or block comment is not closed.
    """
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif query.startswith("//", i):
            ends = (query.find(mark, i) for mark in _LINE_ENDS)
            end = min((p for p in ends if p >= 0), default=n)
            if any(mark in query[i:end] for mark in _OTHER_LINE_ENDS):
                raise _reject(
                    f"the comment at offset {i} holds a Unicode line or page separator; "
                    "end comments with a plain newline"
                )
            i = end
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            if end < 0:
                raise _reject(f"the comment opened at offset {i} is not closed")
            i = end + 2
        elif ch in "'\"":
            end = _skip_string(query, i)
            tokens.append(Token("string", query[i + 1 : end - 1], i))
            i = end
        elif ch == "`":
            end = _skip_quoted_name(query, i)
            tokens.append(Token("quoted", query[i + 1 : end - 1].replace("``", "`"), i))
            i = end
        elif ch == "$":
            j = i + 1
            if j < n and query[j] == "`":
                end = _skip_quoted_name(query, j)
            else:
                end = j
                while end < n and _is_word_char(query[end]):
                    end += 1
            tokens.append(Token("param", query[j:end], i))
            i = end
        elif ch.isdigit():
            j = i + 1
            while j < n and (_is_word_char(query[j]) or query[j] == "."):
                if query[j] == "." and not (j + 1 < n and query[j + 1].isdigit()):
                    break
                j += 1
            # the literal alone: letters glued to it are a word (``LIMIT 1LOAD CSV``)
            literal = _NUMBER.match(query, i, j)
            j = literal.end() if literal is not None and literal.end() > i else j
            tokens.append(Token("number", query[i:j], i))
            i = j
        elif _is_word_char(ch):
            j = i + 1
            while j < n and _is_word_char(query[j]):
                j += 1
            tokens.append(Token("word", query[i:j], i))
            i = j
        else:
            tokens.append(Token("symbol", ch, i))
            i += 1
    return tokens


def _keywords(tokens: list[Token]) -> list[tuple[int, str]]:
    """(token index, upper-cased word) of every bare word that can be a keyword.

    A word is a name, never a keyword, where no clause keyword can stand:
    right after ``.`` (a property), ``:`` (a label, a type) or ``$``; right before
    ``:`` (a map key, ``{start: 1}``, or a pattern's variable, ``(start:User)``);
    right after ``AS`` (an alias). A name declared so is a name again right
    before ``.`` (``start.id``); anywhere else a keyword used as a variable still
    reads as the keyword (the guard fails closed; backticks make it a name).
    """
    found: list[tuple[int, str]] = []
    declared: set[str] = set()
    for index, token in enumerate(tokens):
        if token.kind != "word":
            continue
        previous = tokens[index - 1] if index else None
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if previous is not None and previous.kind == "symbol" and previous.text in ".:":
            continue
        # after AS, and only an AS read as the keyword (not ``n.as``, ``n:as``, ``1 AS as``)
        after_as = bool(found) and found[-1] == (index - 1, "AS")
        if after_as or _is_symbol(following, ":"):
            declared.add(token.text)
            continue
        if token.text in declared and _is_symbol(following, "."):
            continue
        if token.text.upper() == "AS" and not _ends_expression(tokens, index - 1):
            continue  # ``WITH n, as SET ...``: a variable named as, not an alias
        found.append((index, token.text.upper()))
    return found


def _ends_expression(tokens: list[Token], index: int) -> bool:
    """True when ``tokens[index]`` can close an expression (so an AS may follow it)."""
    if index < 0:
        return False
    token = tokens[index]
    if token.kind == "symbol":
        return token.text in ")]}"
    if token.kind != "word" or (
        index and tokens[index - 1].kind == "symbol" and tokens[index - 1].text in ".:"
    ):
        return True  # a literal, a parameter, a quoted name; a property or label
    return token.text.upper() not in _EXPRESSION_OPENERS


def _is_symbol(token: Token | None, text: str) -> bool:
    return token is not None and token.kind == "symbol" and token.text == text


def _dotted_name(tokens: list[Token], start: int) -> tuple[str, int]:
    """The dotted name that begins at ``tokens[start]`` (words or quoted names).

    Returns:
        (the name, the index of the token after it).
    """
    parts: list[str] = []
    i = start
    while i < len(tokens) and tokens[i].kind in ("word", "quoted"):
        parts.append(tokens[i].text)
        if _is_symbol(tokens[i + 1] if i + 1 < len(tokens) else None, "."):
            i += 2
            continue
        i += 1
        break
    return ".".join(parts), i


def _check_call(tokens: list[Token], index: int) -> None:
    nxt = tokens[index + 1] if index + 1 < len(tokens) else None
    if nxt is None:
        raise _reject("CALL without a procedure or subquery")
    if nxt.kind == "symbol" and nxt.text in "{(":
        return  # a subquery: its clauses are checked like the rest of the query
    name, _ = _dotted_name(tokens, index + 1)
    if name.lower() not in READ_PROCEDURES:
        raise _reject(
            f"exploration queries may only CALL read procedures "
            f"({', '.join(sorted(READ_PROCEDURES))}); got CALL {name or nxt.text}"
        )


def _check_functions(tokens: list[Token], calls: set[int]) -> None:
    """Reject dotted function calls outside :data:`READ_FUNCTION_NAMESPACES`.

    A dotted name followed by ``(`` is a function call (a property is never
    called); ``calls`` holds the token indexes that follow ``CALL`` (procedures,
    checked by :func:`_check_call`).
    """
    for i, token in enumerate(tokens):
        starts_name = token.kind in ("word", "quoted") and not (
            i and _is_symbol(tokens[i - 1], ".")
        )
        if not starts_name or i in calls:
            continue
        name, after = _dotted_name(tokens, i)
        called = _is_symbol(tokens[after] if after < len(tokens) else None, "(")
        namespace = name.split(".", 1)[0].lower() if "." in name else None
        if called and namespace is not None and namespace not in READ_FUNCTION_NAMESPACES:
            raise _reject(
                "exploration queries may call dotted functions of "
                f"{', '.join(sorted(READ_FUNCTION_NAMESPACES))} only; got {name}()"
            )


def _check_show(words: list[tuple[int, str]], position: int) -> None:
    for _, word in words[position + 1 :]:
        if word in SHOW_ALLOWED:
            return
        if word not in _SHOW_MODIFIERS:
            break
    raise _reject(
        "administration commands are not exploration; SHOW is allowed for "
        f"{', '.join(sorted(SHOW_ALLOWED))} only"
    )


def ensure_read_only(query: str) -> None:
    """Raise :class:`WriteQueryRejectedError` unless ``query`` reads only.

    Rejected: every word of :data:`WRITE_KEYWORDS` standing as a bare word (CREATE,
    INSERT, MERGE, SET, DELETE, REMOVE, DROP, FOREACH, LOAD CSV, administration,
    USE), ``CALL ... IN TRANSACTIONS``, ``SHOW`` of anything but indexes,
    constraints, functions and procedures, any ``CALL`` of a procedure outside
    :data:`READ_PROCEDURES`, any call of a dotted function outside
    :data:`READ_FUNCTION_NAMESPACES` (ArcadeDB's ``sql.eval`` writes), and a
    query whose literals or comments are not closed.
    """
    tokens = tokenize(query)
    words = _keywords(tokens)
    _check_functions(tokens, {index + 1 for index, word in words if word == "CALL"})
    found: list[str] = []
    for position, (index, word) in enumerate(words):
        if word == "CALL":
            _check_call(tokens, index)
        elif word == "SHOW":
            _check_show(words, position)
        elif word == "TRANSACTIONS" and position and words[position - 1][1] in _IN_TRANSACTIONS:
            found.append("IN TRANSACTIONS")
        elif word in WRITE_KEYWORDS and word not in found:
            found.append(word)
    if found:
        raise WriteQueryRejectedError(
            f"exploration queries are read-only; this one contains {', '.join(found)}. "
            "Write through `kgrec import` or the Python API (graph.GraphStore upserts). "
            f"If {found[0]} is a variable's name here, quote it in backticks or rename it."
        )
