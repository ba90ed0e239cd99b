"""The SQL guard and the grant check, on hand-written statements and SHOW GRANTS lines (no server)."""

import pytest

from coevolve.envs.intercode_sql.guard import refusal, tokens
from coevolve.envs.intercode_sql.server import too_wide_grants

ALLOWED = [
    "SELECT name FROM singer",
    "SHOW TABLES",
    "DESC singer",
    "SELECT count(*) FROM city a, city b",
    "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
    "SET @x = 1",
    "SET @x := (SELECT 1), @y = 2",
    "SET SESSION sql_select_limit = 5",
    "SELECT 'set statement max_statement_time=0 for' FROM t",
    "SELECT `execute`, `names` FROM t",
    "SELECT 1 -- SET STATEMENT max_statement_time=0 FOR",
    "SELECT name FROM singer /* KILL 3 */",
    "USE concert_singer",
]

REFUSED = {
    "SET STATEMENT max_statement_time=0 FOR SELECT SLEEP(60)": "SET STATEMENT",
    "set statement max_statement_time=0 for select sleep(60)": "SET STATEMENT",
    "/*!SET STATEMENT max_statement_time=0 FOR*/ SELECT SLEEP(60)": "SET STATEMENT",
    "/*M!100000 SET STATEMENT max_statement_time=0 FOR */ SELECT SLEEP(60)": "SET STATEMENT",
    "SET /* gap */ STATEMENT max_statement_time=0 FOR SELECT 1": "SET STATEMENT",
    "SET SESSION max_statement_time = 0": "max_statement_time",
    "SET max_statement_time=0": "max_statement_time",
    "SET @@max_statement_time = 0": "max_statement_time",
    "SET @@session.max_statement_time = 0": "max_statement_time",
    "SET @@session . max_statement_time = 0": "max_statement_time",
    "SET `max_statement_time` = 0": "max_statement_time",
    "SET @x = (SELECT 1, 2), max_statement_time = 0": "max_statement_time",
    "SET max_execution_time = 0": "max_execution_time",
    "SET autocommit = 1": "autocommit",
    "SET SESSION tx_read_only = 0": "tx_read_only",
    "SET character_set_results = NULL": "character_set_results",
    "SET NAMES latin1": "SET NAMES",
    "-- comment\nSET NAMES latin1": "SET NAMES",
    "SET CHARACTER SET latin1": "SET CHARACTER SET",
    "SET SESSION TRANSACTION READ WRITE": "SET TRANSACTION",
    "SET TRANSACTION READ WRITE": "SET TRANSACTION",
    "SET PASSWORD = PASSWORD('x')": "SET PASSWORD",
    "SET PASSWORD FOR CURRENT_USER() = 'x'": "SET PASSWORD",
    "PREPARE s FROM 'SELECT 1'": "prepared",
    "EXECUTE IMMEDIATE 'SELECT SLEEP(60)'": "prepared",
    "BEGIN NOT ATOMIC SELECT SLEEP(60); END": "compound",
    "WHILE 1 DO SELECT 1; END WHILE": "compound",
    "l1: LOOP SELECT 1; END LOOP": "compound",
    "KILL 12": "KILL",
    "kill query 12": "KILL",
    "SHOW FULL PROCESSLIST": "process list",
    "SELECT info FROM information_schema.`PROCESSLIST`": "process list",
    "SELECT /*+ MAX_EXECUTION_TIME(0) */ 1": "hints",
    "SELECT /*+ SET_VAR(max_execution_time=0) */ 1": "hints",
}


@pytest.mark.parametrize("sql", ALLOWED)
def test_ordinary_statements_pass(sql):
    assert refusal(sql) is None


@pytest.mark.parametrize(("sql", "reason"), REFUSED.items())
def test_session_changes_and_hidden_sql_are_refused(sql, reason):
    found = refusal(sql)
    assert found is not None and reason in found


def test_lexer_drops_comments_and_strings_but_keeps_executable_comments():
    kinds = [(t.kind, t.value) for t in tokens("SELECT 'a -- b' /* c */ `d``e` /*!50000 f */ -- g\n@u @@s.x")]
    assert kinds == [
        ("word", "SELECT"),
        ("string", "'a -- b'"),
        ("ident", "d`e"),
        ("word", "F"),
        ("uservar", "@u"),
        ("sysvar", "@@s.x"),
    ]


READ_ONLY_GRANTS = [
    "GRANT USAGE ON *.* TO `agent`@`127.0.0.1` IDENTIFIED BY PASSWORD '*ABC'",
    "GRANT SELECT, SHOW VIEW ON `world_1`.* TO `agent`@`127.0.0.1`",
    "GRANT SELECT (`a`, `b`) ON `db`.`t` TO `agent`@`%`",
    "GRANT SHOW DATABASES ON *.* TO 'agent'@'%'",
]


def test_read_only_grants_pass():
    assert too_wide_grants(READ_ONLY_GRANTS) == []


@pytest.mark.parametrize(
    ("line", "privilege"),
    [
        ("GRANT ALL PRIVILEGES ON *.* TO `root`@`%` WITH GRANT OPTION", "ALL PRIVILEGES"),
        ("GRANT SELECT, INSERT ON `world_1`.* TO `agent`@`%`", "INSERT"),
        ("GRANT SELECT, UPDATE (`name`) ON `db`.`t` TO `agent`@`%`", "UPDATE"),
        ("GRANT FILE ON *.* TO `agent`@`%`", "FILE"),
        ("GRANT SELECT ON `db`.* TO `agent`@`%` WITH GRANT OPTION", "GRANT OPTION"),
        ("GRANT PROXY ON ''@'%' TO 'agent'@'%'", "PROXY"),
        ("GRANT `writer`@`%` TO `agent`@`%`", "role"),
        ("GRANT CREATE TEMPORARY TABLES ON `db`.* TO `agent`@`%`", "CREATE TEMPORARY TABLES"),
    ],
)
def test_wider_grants_are_named(line, privilege):
    wide = too_wide_grants([*READ_ONLY_GRANTS, line])
    assert wide and wide[0] == (privilege, line)
