"""Page texts, clickables, pagination and action quirks of the text-mode engine."""

GOAL = {
    "asin": "B000PERF01",
    "instruction_text": "i need a 6.76 fl oz bottle of perfume, and price lower than 100.00 dollars",
    "attributes": ["long lasting"],
    "goal_options": ["6.76 fl oz (pack of 1)"],
    "price_upper": 100.0,
    "query": "perfume",
    "name": "L'eau Perfume Spray for Men, 6.7 Fl Oz Bottle",
    "product_category": "A › B › C",
    "category": "cat",
}
INSTR = "Instruction: [SEP] " + GOAL["instruction_text"]


def test_start_page(engine):
    assert engine.reset(GOAL) == "WebShop [SEP] " + INSTR + " [SEP] Search"
    assert engine.clickables() == ["search"]


def test_results_item_and_sub_pages(engine):
    engine.reset(GOAL)
    text, reward, done = engine.step("search[perfume bottle]")
    assert text == (
        f"{INSTR} [SEP] Back to Search [SEP] Page 1 (Total results: 1) [SEP] Next > [SEP] "
        "B000PERF01 [SEP] L'eau Perfume Spray for Men, 6.7 Fl Oz Bottle [SEP] $64.98"
    )
    assert (reward, done) == (0.0, False)
    item = engine.step("click[b000perf01]")[0]  # ASINs are case-insensitive
    assert item == (
        f"{INSTR} [SEP] Back to Search [SEP] < Prev [SEP] size [SEP] 2.5 fl oz [SEP] 6.76 fl oz (pack of 1) "
        "[SEP] color [SEP] navy | blue [SEP] L'eau Perfume Spray for Men, 6.7 Fl Oz Bottle [SEP] "
        "Price: $64.98 [SEP] Rating: N.A. [SEP] Description [SEP] Features [SEP] Reviews [SEP] Buy Now"
    )
    # Choosing an option re-renders the same text.
    assert engine.step("click[6.76 fl oz (pack of 1)]")[0] == item
    assert engine.session.options == {"size": "6.76 fl oz (pack of 1)"}
    head = f"{INSTR} [SEP] Back to Search [SEP] < Prev"
    assert engine.step("click[Description]")[0] == head + " [SEP] A fresh perfume."
    assert engine.step("click[< Prev]")[0] == item
    assert engine.step("click[Features]")[0] == head + " [SEP] Long lasting scent [SEP] Made in France"
    engine.step("click[< Prev]")
    assert engine.step("click[Reviews]")[0] == head
    engine.step("click[< Prev]")
    assert engine.step("click[< Prev]")[0].startswith(
        f"{INSTR} [SEP] Back to Search [SEP] Page 1 (Total results: 1)"
    )
    assert engine.step("click[Back to Search]")[0] == "WebShop [SEP] " + INSTR + " [SEP] Search"


def test_price_range_tag(engine):
    engine.reset(GOAL)
    text = engine.step("search[cotton towel]")[0]
    assert "B000RANGE1 [SEP] Cotton Towel Set [SEP] $10.0 to $25.5" in text


def test_pagination_edges(engine):
    engine.reset(GOAL)
    page1 = engine.step("search[running sneaker]")[0]
    assert "Page 1 (Total results: 13) [SEP] Next > [SEP]" in page1
    assert "< Prev" not in page1 and page1.count("B00SNKR") == 10
    assert "< prev" not in engine.clickables()
    page2 = engine.step("click[Next >]")[0]
    assert "Page 2 (Total results: 13) [SEP] < Prev [SEP] Next >" in page2 and page2.count("B00SNKR") == 3
    # Next > is offered past the last page, which then lists nothing.
    page3 = engine.step("click[next >]")[0]
    assert page3.endswith("Page 3 (Total results: 13) [SEP] < Prev [SEP] Next >")
    assert engine.step("click[< Prev]")[0] == page2


def test_action_quirks(engine):
    start = engine.reset(GOAL)
    assert engine.step("click[search]")[0] == start  # refused
    assert engine.step("click[nothing here]")[0] == start  # unknown click: silent no-op
    assert engine.step("search[]")[0] == start  # no argument: no-op
    assert engine.step("buy now")[0] == start  # no brackets
    engine.step("search[perfume]")
    engine.step("click[B000PERF01]")
    # search works from any page, and a click on a product not on the current page is a no-op
    results = engine.step("search[running sneaker]")[0]
    assert engine.step("click[B000PERF01]")[0] == results
    assert engine.session.page == "results"


def test_no_results(engine):
    engine.reset(GOAL)
    text = engine.step("search[zzzqqq]")[0]
    assert text.endswith("Page 1 (Total results: 0) [SEP] Next >")
