"""``--where``: a SQL expression over a repo row, checked to be one read-only expression.

The expression goes into the WHERE clause of the cards lane's work list (``downloads >= 100``,
``pipeline_tag = 'text-generation' AND likes > 5``). Two guards, either enough for what it
blocks: this check refuses what could end the expression or the statement (a semicolon, a
comment, a parenthesis closed that it did not open, an unterminated quote), words that write or
run statements, and the database's functions with effects outside the query; and the work list
is read on a read-only connection (`read.read_only_catalog`: SQLite's ``query_only`` and an
authorizer, PostgreSQL's read-only transactions), so that whatever passes can only read.
"""

from __future__ import annotations

import re

from .errors import ConfigError

# Statements and clauses that have no business in an expression over one row.
WRITING = frozenset({
    "insert", "update", "delete", "upsert", "merge", "create", "drop", "alter", "truncate", "attach",
    "detach", "pragma", "vacuum", "reindex", "analyze", "grant", "revoke", "copy", "begin", "commit", "rollback",
    "savepoint", "release", "set", "reset", "lock", "listen", "notify", "call", "do", "execute", "prepare",
    "declare", "load", "returning", "into", "union", "intersect", "except", "limit", "offset", "order", "group",
})
# Functions with effects beyond reading rows: PostgreSQL's server functions (pg_sleep, pg_read_file,
# pg_terminate_backend, ...), large objects, dblink, settings; SQLite's extension loading and file I/O.
EFFECTS = re.compile(r"^(pg_|lo_|dblink|set_config$|load_extension$|readfile$|writefile$|fts3_tokenizer$"
                     r"|edit$|query_to_xml|current_setting$)")
TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_][A-Za-z_0-9$]*|--|/\*|[;()]|[^\s'"A-Za-z_;()]""")
MAX_LENGTH = 2_000


def check_where(expression: str) -> str:
    """``expression`` if it is one read-only SQL expression (see the module), stripped.

    Raises:
        ConfigError: it could be more than an expression, or write.
    """
    where = expression.strip()
    if not where:
        raise ConfigError("--where is empty: give a SQL expression over the repo row, e.g. \"downloads >= 100\"")
    if len(where) > MAX_LENGTH:
        raise ConfigError(f"--where is longer than {MAX_LENGTH} characters")
    depth, position = 0, 0
    for match in TOKEN.finditer(where):
        if where[position:match.start()].strip():
            raise ConfigError(f"--where {where!r}: unterminated quote at {where[position:match.start()].strip()!r}")
        position, token = match.end(), match.group()
        word = token.lower()
        if token in (";", "--", "/*"):
            raise ConfigError(f"--where {where!r}: {token!r} is refused; give one expression, without statements "
                              "or comments")
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth < 0:
                raise ConfigError(f"--where {where!r}: a ')' closes what the expression did not open")
        elif token[0] not in "'\"" and (word in WRITING or EFFECTS.match(word)):
            raise ConfigError(f"--where {where!r}: {token!r} is refused; it is read as a filter over the repo row "
                              "(e.g. \"downloads >= 100 AND pipeline_tag = 'text-generation'\")")
    if where[position:].strip():
        raise ConfigError(f"--where {where!r}: unterminated quote at {where[position:].strip()!r}")
    if depth:
        raise ConfigError(f"--where {where!r}: a '(' is never closed")
    return where
