"""The WebShop site in text mode: one shopping session, its pages and its clickables.

Texts are what WebShop's `convert_html_to_text(simple=True)` yields for each Jinja page: visible text
nodes joined with " [SEP] " (empty nodes dropped). Actions follow `WebAgentTextEnv.step`: `search[...]`
works on any page, `click[x]` only for a clickable of the current page (not the search button), and
anything else is a silent no-op. The argument is lower-cased.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from coevolve.envs.webshop.catalogue import Catalogue, product_price
from coevolve.envs.webshop.reward import Tagger, get_reward

SEP = " [SEP] "
PER_PAGE = 10
BACK, NEXT, PREV, BUY = "back to search", "next >", "< prev", "buy now"
SUB_PAGES = {"description": "Description", "features": "Features", "reviews": "Reviews"}
ACTION_RE = re.compile(r"(.+)\[(.+)\]")  # upstream engine.parse_action


def parse_action(action: str) -> tuple[str, str | None]:
    match = ACTION_RE.match(action)
    if match is None:
        return action, None
    return match.group(1), match.group(2)


@dataclass
class Session:
    goal: dict[str, Any]
    page: str = "start"  # start | results | item | description | features | reviews | done
    keywords: str | None = None
    results: list[int] = field(default_factory=list)  # catalogue positions of the top hits
    page_no: int = 1
    asin: str | None = None
    options: dict[str, str] = field(default_factory=dict)
    reward: float = 0.0
    breakdown: dict[str, Any] | None = None


class Engine:
    def __init__(self, catalogue: Catalogue, tagger: Tagger) -> None:
        self.catalogue = catalogue
        self.tagger = tagger
        self.session: Session | None = None

    # ------------------------------------------------------------------ actions

    def reset(self, goal: dict[str, Any]) -> str:
        self.session = Session(goal=goal)
        return self.observation()

    def clickables(self) -> list[str]:
        s = self._live()
        if s.page == "start":
            return ["search"]
        if s.page == "results":
            buttons = [BACK] + ([PREV] if s.page_no > 1 else []) + [NEXT]
            return buttons + [self.catalogue.asins[p].lower() for p in self._page_hits()]
        if s.page == "item":
            product = self._product()
            values = [v for vs in product["options"].values() for v in vs]
            return [BACK, PREV, *values, *SUB_PAGES, BUY]
        if s.page in SUB_PAGES:
            return [BACK, PREV]
        return []

    def step(self, action: str) -> tuple[str, float, bool]:
        """(page text, reward, done) for one action."""
        s = self._live()
        name, arg = parse_action(action)
        arg = arg.lower() if arg is not None else None
        if name == "search" and arg:
            self._search(arg, 1)
        elif name == "click" and arg and arg != "search" and arg in self.clickables():
            self._click(arg)
        return self.observation(), s.reward, s.page == "done"

    def _search(self, keywords: str, page_no: int) -> None:
        s = self._live()
        s.page, s.keywords, s.page_no, s.asin, s.options = "results", keywords, page_no, None, {}
        # WebShop splits the keywords on spaces and joins them back for the searcher.
        s.results = self.catalogue.search(" ".join(keywords.split(" ")))

    def _click(self, value: str) -> None:
        s = self._live()
        if value == BUY:
            self._buy()
        elif value == BACK:
            self.session = Session(goal=s.goal)
        elif value == NEXT and s.page == "results":
            s.page_no += 1
        elif value == PREV and s.page == "results":
            s.page_no -= 1
        elif value == PREV and s.page in SUB_PAGES:
            s.page = "item"
        elif value == PREV and s.page == "item":
            self._search(s.keywords or "", s.page_no)
        elif value in SUB_PAGES:
            s.page = value
        elif s.page == "results":  # a product link
            s.page, s.asin = "item", value.upper()
        else:  # an option value on the item page: remember it under its option name
            for opt_name, values in self._product()["options"].items():
                if value in values:
                    s.options[opt_name] = value
                    break

    def _buy(self) -> None:
        s = self._live()
        product = self._product()
        s.reward, s.breakdown = get_reward(product, s.goal, product_price(product), s.options, self.tagger)
        s.page = "done"

    # ------------------------------------------------------------------ pages

    def observation(self) -> str:
        s = self._live()
        instr = s.goal["instruction_text"]
        head = ["Instruction:", instr, "Back to Search"]
        if s.page == "start":
            parts = ["WebShop", "Instruction:", instr, "Search"]
        elif s.page == "results":
            parts = head + [f"Page {s.page_no} (Total results: {len(s.results)})"]
            parts += ["< Prev", "Next >"] if s.page_no > 1 else ["Next >"]
            for pos in self._page_hits():
                product = self.catalogue.product(pos)
                parts += [product["asin"], product["Title"], product["Price"]]
        elif s.page == "item":
            product = self._product()
            parts = head + ["< Prev"]
            for opt_name, values in product["options"].items():
                parts += [opt_name, *values]
            parts += [product["Title"], f"Price: {product['Price']}", "Rating: N.A."]
            parts += [*SUB_PAGES.values(), "Buy Now"]
        elif s.page in SUB_PAGES:
            product = self._product()
            parts = head + ["< Prev"]
            if s.page == "description":
                parts.append(product["Description"])
            elif s.page == "features":
                parts += product["BulletPoints"]
            # reviews: ETO disables review loading, so the page lists none
        else:
            parts = self._done_parts()
        return SEP.join(p.strip() for p in parts if p and p.strip())

    def _done_parts(self) -> list[str]:
        # Never shown by ETO (the episode ends first); kept short, with the purchase and the score.
        s = self._live()
        return [
            "Thank you for shopping with us!",
            "Purchased",
            "asin",
            s.asin or "",
            "options",
            json.dumps(s.options, sort_keys=True),
            "Your score (min 0.0, max 1.0)",
            repr(s.reward),
        ]

    def _page_hits(self) -> list[int]:
        s = self._live()
        return s.results[(s.page_no - 1) * PER_PAGE : s.page_no * PER_PAGE]

    def _product(self) -> dict[str, Any]:
        s = self._live()
        assert s.asin is not None, "no product selected"
        product = self.catalogue.get(s.asin)
        assert product is not None, f"unknown product {s.asin}"
        return product

    def _live(self) -> Session:
        if self.session is None:
            raise RuntimeError("WebShop engine: reset() first")
        return self.session
