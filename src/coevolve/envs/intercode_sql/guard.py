"""Which agent statements the SQL session refuses before they reach the server.

The project's own rule set (InterCode runs every action as MySQL's root). The read-only grants, the
READ ONLY transaction and the rollback after every statement already stop writes; this guard stops what
grants cannot: changing the session's pinned settings (statement time limit, transaction mode, character
set, autocommit), `SET STATEMENT ... FOR` (a per-statement override of the time limit), the shared
account's password (`SET PASSWORD` needs no privilege), prepared and compound statements (they run SQL
text this check cannot see), `KILL` (other episodes share the account) and the process list (it shows
other episodes' queries, gold queries included).

A small lexer drops comments, strings and quoted identifiers, and keeps the content of MariaDB's
executable comments (`/*! ... */`, `/*M! ... */`), which the server runs. The session re-applies its pinned
settings after any statement that may change them, so a statement this check misses still cannot keep
a changed limit; the client read timeout bounds what is left.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Session variables the environment fixes for the agent (MariaDB and MySQL names).
PINNED_VARIABLES = frozenset(
    {
        "max_statement_time",
        "max_execution_time",
        "autocommit",
        "tx_read_only",
        "transaction_read_only",
        "character_set_client",
        "character_set_connection",
        "character_set_results",
        "collation_connection",
        "completion_type",
    }
)
# Words after SET that change a pinned setting or the account (SET NAMES, SET CHARACTER SET, ...).
REFUSED_SET_WORDS = frozenset({"NAMES", "CHARSET", "CHARACTER", "TRANSACTION", "PASSWORD", "ROLE", "DEFAULT"})
SET_SCOPES = frozenset({"SESSION", "LOCAL", "GLOBAL", "PERSIST", "PERSIST_ONLY"})
# Words that refuse a statement wherever they appear as code.
REFUSED_WORDS = {
    "PREPARE": "prepared statements",
    "EXECUTE": "prepared statements",
    "DEALLOCATE": "prepared statements",
    "PROCESSLIST": "the process list (it shows other episodes' queries)",
}
# First words that refuse a statement (compound statements run outside stored programs in MariaDB).
REFUSED_FIRST_WORDS = {
    "KILL": "KILL (other episodes share the account)",
    "SHUTDOWN": "SHUTDOWN",
    **{word: "compound statements" for word in ("IF", "WHILE", "LOOP", "REPEAT", "FOR", "CASE", "DECLARE")},
}
REFUSED_HINTS = re.compile(r"\b(SET_VAR|MAX_EXECUTION_TIME)\b", re.IGNORECASE)  # MySQL 8 optimizer hints

_TOKEN_RE = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>(?:--(?=\s|$)|\#)[^\n]*)
    | (?P<exec_open>/\*M?!\d*)
    | (?P<hint>/\*\+.*?(?:\*/|$))
    | (?P<block>/\*.*?(?:\*/|$))
    | (?P<exec_close>\*/)
    | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    | (?P<ident>`(?:[^`]|``)*`)
    | (?P<sysvar>@@[\w$.]*)
    | (?P<uservar>@(?:[\w$.]+|`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")?)
    | (?P<word>[\w$]+)
    | (?P<punct>.)
    """,
    re.DOTALL | re.VERBOSE,
)


class Token(NamedTuple):
    kind: str  # word (upper-cased), ident (unquoted), sysvar, uservar, string, punct, hint
    value: str


def tokens(sql: str) -> list[Token]:
    """The code tokens of one statement (comments dropped, executable comments' content kept)."""
    found = []
    for match in _TOKEN_RE.finditer(sql):
        kind, text = match.lastgroup or "punct", match.group()
        if kind in ("space", "comment", "block", "exec_open", "exec_close"):
            continue
        if kind == "word":
            text = text.upper()
        elif kind == "ident":
            text = text[1:-1].replace("``", "`")
        found.append(Token(kind, text))
    return found


def _assignments(toks: list[Token]) -> list[list[Token]]:
    """The comma-separated parts of a SET statement (commas inside parentheses do not split)."""
    parts: list[list[Token]] = [[]]
    depth = 0
    for tok in toks:
        if tok.kind == "punct" and tok.value in "()":
            depth += 1 if tok.value == "(" else -1
        if tok.kind == "punct" and tok.value == "," and depth == 0:
            parts.append([])
        else:
            parts[-1].append(tok)
    return [part for part in parts if part]


def _target_names(part: list[Token]) -> tuple[str, set[str]]:
    """(first word, names) of the target of one SET assignment, i.e. the tokens before `=` / `:=`:
    `@@session.x`, `@@session . x`, `SESSION x`, `x`, `@u` (a user variable: no names)."""
    toks = list(part)
    while toks and toks[0].kind == "word" and toks[0].value in SET_SCOPES:
        toks = toks[1:]
    if toks and toks[0].kind == "uservar":
        return ("", set())
    first = toks[0].value if toks and toks[0].kind == "word" else ""
    names = set()
    for tok in toks:
        if tok.kind == "punct" and tok.value in "=:":
            break
        if tok.kind == "sysvar":
            names.update(tok.value[2:].lower().split("."))
        elif tok.kind in ("word", "ident"):
            names.add(tok.value.lower())
    return (first, names)


def _refused_set(toks: list[Token]) -> str | None:
    for part in _assignments(toks[1:]):
        first, names = _target_names(part)
        if first in REFUSED_SET_WORDS:
            return "SET CHARACTER SET" if first == "CHARACTER" else f"SET {first}"
        pinned = sorted(names & PINNED_VARIABLES)
        if pinned:
            return f"changing {pinned[0]} (the session's settings are fixed)"
    return None


def refusal(sql: str) -> str | None:
    """Why the agent may not run `sql`, or None when it may."""
    toks = tokens(sql)
    words = [tok.value for tok in toks if tok.kind == "word"]
    for tok in toks:
        if tok.kind == "hint" and REFUSED_HINTS.search(tok.value):
            return "optimizer hints that change the time limit"
    for left, right in zip(words, words[1:], strict=False):
        if left == "SET" and right in ("STATEMENT", "PASSWORD"):
            return f"SET {right}" + (
                " ... FOR (the session's limits are fixed)" if right == "STATEMENT" else ""
            )
    for word in words:
        if word in REFUSED_WORDS:
            return REFUSED_WORDS[word]
    if any(tok.kind == "ident" and tok.value.upper() == "PROCESSLIST" for tok in toks):
        return REFUSED_WORDS["PROCESSLIST"]
    if "BEGIN NOT ATOMIC" in " ".join(words):
        return "compound statements"
    code = [tok for tok in toks if tok.kind != "hint"]
    if not code:
        return None
    first = code[0]
    if first.kind == "word" and first.value in REFUSED_FIRST_WORDS:
        return REFUSED_FIRST_WORDS[first.value]
    if len(code) > 1 and code[1] == Token("punct", ":"):  # `label: LOOP ...`
        return "compound statements"
    if first == Token("word", "SET"):
        return _refused_set(code)
    return None


def refusal_message(reason: str) -> str:
    """The error text the agent sees (InterCode's `Error executing query: <msg>` wraps it)."""
    return f"Error executing query: {reason} is not allowed in this environment"
