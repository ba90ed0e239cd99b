"""InterCodeSQL (IPR's wrapper over InterCode) on a read-only MySQL-protocol server.

Importing this package registers the `intercode_sql` environment.
"""

from coevolve.envs.intercode_sql.env import IntercodeSqlConfig, IntercodeSqlEnv
from coevolve.envs.intercode_sql.reward import intercode_reward
from coevolve.envs.intercode_sql.server import DbUrl, MariaDBServer, ServerConfig, ServerError

__all__ = [
    "DbUrl",
    "IntercodeSqlConfig",
    "IntercodeSqlEnv",
    "MariaDBServer",
    "ServerConfig",
    "ServerError",
    "intercode_reward",
]
