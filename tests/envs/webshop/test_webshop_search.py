"""Analyzer and BM25 search: Lucene-like tokens, top-50 cut, ties by catalogue order."""

from coevolve.envs.webshop.search import TOP_N, Analyzer, BM25Index, document_text


def test_analyzer_lucene_like():
    analyzer = Analyzer()
    assert analyzer("The L'eau d'Issey 6.76 fl oz, and a men's bottle") == [
        "l'eau", "d'issei", "6.76", "fl", "oz", "men", "bottl"
    ]  # fmt: skip


def test_document_text():
    text = document_text("Title X", "Desc", ["first", "second"], {"color": ["red", "blue"], "size": ["s"]})
    assert text == "title x desc first color: red, blue, and size: s"


def test_top_n_and_ties_by_position():
    texts = [f"red shoe {i}" for i in range(70)] + ["blue hat"]
    index = BM25Index.build(texts)
    hits = index.search("red shoe")
    assert len(hits) == TOP_N and hits == list(range(TOP_N))  # equal scores: lower position first
    assert index.search("blue") == [70]
    assert index.search("the of and") == []  # only stop words
    assert index.search("unknownword") == []


def test_shorter_document_ranks_first():
    index = BM25Index.build(["shoe with many other words here", "shoe", "hat"])
    assert index.search("shoe") == [1, 0]
