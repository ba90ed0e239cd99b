"""Batched multi-episode rollout of a policy in an environment."""

from coevolve.rollout.engine import RolloutEngine, RolloutSettings, episode_key, run_rollouts

__all__ = ["RolloutEngine", "RolloutSettings", "episode_key", "run_rollouts"]
