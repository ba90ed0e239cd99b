"""`coevolve view`: a static, self-contained HTML viewer of run directories (episodes, DPO pairs, iterations).

`build_site` writes the site; `data` turns a run directory into what the pages show; `tokens` marks the
tokens DPO scores. The page itself is `assets/` (vanilla JS, no network, no build step).
"""

from coevolve.evaluation.viewer.site import build_site, serve

__all__ = ["build_site", "serve"]
