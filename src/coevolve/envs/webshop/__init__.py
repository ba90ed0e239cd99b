"""WebShop (princeton-nlp/WebShop) in text mode, as ETO runs it; importing registers env "webshop"."""

from coevolve.envs.webshop.env import WebShopEnv, load_data

__all__ = ["WebShopEnv", "load_data"]
