"""Log templates: mask the variables of every line, then merge the distinct signatures Drain-style.

Masking is two-stage so it stays fast on megabytes: over the whole text, every digit becomes ``0``
(``str.translate``) and each run of digits becomes ``<*>`` (one literal-prefixed regex); only the
distinct signatures then get the finer rules (hex ids, signs, month names, addresses). Merging follows
Drain (He et al., ICWS 2017) on the message, after the header (``_log_header``): signatures of the same
length, severity and header length whose messages start with the same literal merge when at least half
of their message positions agree (a shared ``RAS KERNEL FATAL`` header is no agreement); a pipe is a
token of its own. Merged tokens keep their common prefix and suffix, cut at
delimiters (``/user/root/<*>/part-<*>``); a merged position that takes only a few literal values
(``NEW``/``RUNNING``, ``user=root``/``user=guest``) is part of the message, so the template splits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .._lines import split_lines
from ._log_header import message_start

MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
# Stage 1, over the whole text at C speed: every digit becomes 0, then each run of digits (with the
# dots, commas and colons between them: times, addresses, versions) becomes one wildcard.
_DIGITS = str.maketrans("0123456789", "0000000000")
_NUMBERS = re.compile(r"0[0.,:]*(?<=0)")
# Stage 2, only over the distinct signatures: what stage 1 leaves half-masked. Each rule comes with a
# substring test that is true wherever the rule could change something: a C-speed ``in`` skips most
# rules on most signatures (regexes tried at every position were half of a log's compression time).
_ANY_MONTH = re.compile(MONTH)  # a bare alternation of literals: scanned at C speed
_ANY_DAY = re.compile(DAY)
_HEX_NEAR_WILD = re.compile(r"[a-fA-F]<\*>|<\*>[a-fA-Fx]")


def _has_hex_near_wild(signature: str) -> bool:
    return _HEX_NEAR_WILD.search(signature) is not None


def _has_sign(signature: str) -> bool:
    return "-<*>" in signature or "+<*>" in signature


def _has_day(signature: str) -> bool:
    return _ANY_DAY.search(signature) is not None


def _has_month(signature: str) -> bool:
    return _ANY_MONTH.search(signature) is not None


def _has_joined_wilds(signature: str) -> bool:
    return "<*>" in signature


def _has_three_wilds(signature: str) -> bool:
    return signature.count("<*>") >= 3


def _month_unless_inside_a_word(match: re.Match[str]) -> str:
    before = match.string[match.start() - 1] if match.start() else " "
    return match.group(0) if before.isalnum() or before == "_" else WILD


_REFINE: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str], Callable[[str], bool]]] = [
    (
        re.compile(r"(?<![A-Za-z0-9_])(?:<\*>x)?(?:[a-fA-F]|<\*>)*<\*>(?:[a-fA-F]|<\*>)*(?![A-Za-z0-9_])"),
        "<*>",
        _has_hex_near_wild,
    ),
    (re.compile(r"(?<=[\s=_(\[,:/])[-+](?=<\*>)"), "", _has_sign),  # signs: blk_-<*> -> blk_<*>
    (re.compile(rf"\b{DAY},? (?={MONTH}\b)"), "", _has_day),
    # a month before a masked day; the pattern starts with its literals (fast), the callback checks the
    # word boundary in front
    (re.compile(rf"{MONTH}(?= +<\*>)"), _month_unless_inside_a_word, _has_month),
    # dates (ISO 8601 Z too), addresses, uuids
    (re.compile(r"<\*>(?:[-.:,/T]<\*>)+(?:Z(?!\w))?"), "<*>", _has_joined_wilds),
    # blk_<*> blk_<*> blk_<*> ...
    (re.compile(r"(?<!\S)(\S*<\*>\S*)(?:[ \t]+\1(?!\S)){2,}"), r"\1 <*>", _has_three_wilds),
]
WILD = "<*>"
OPAQUE = 100  # a token this long (a blob: base64, a key list, a signed URL) is one variable
_LONG_TOKEN = re.compile(rf"(?<!\S)\S{{{OPAQUE},}}")  # only token starts are tried: linear
_SPACES = re.compile(r"([ \t]+)")
_PIECES = re.compile(r"([ \t]+|\|)")  # a pipe is a token of its own: ``time|component|pid|message``

_SIMILARITY = 0.5
_BUCKET_SCAN = 64
_ENUM_LIMIT = 8
_WARNING = 2  # severities from here on are shown verbatim (log.WARNING)


@dataclass
class Cluster:
    tokens: list[str]
    severity: int
    first: int  # index of the first block
    last: int
    count: int = 0  # blocks
    signatures: list[str] = field(default_factory=list)
    start: int = 0  # index of the first message token: the header before it is not compared

    def absorb(self, signature: str, tokens: list[str], count: int, first: int, last: int) -> None:
        """Merge one more signature (its tokens, how often and where it occurred) into this template."""
        self.tokens = [a if a == b else _merge_token(a, b) for a, b in zip(self.tokens, tokens, strict=True)]
        self.first, self.last = min(self.first, first), max(self.last, last)
        self.count += count
        self.signatures.append(signature)


def _similarity(template: list[str], tokens: list[str], start: int) -> float:
    """Share of message positions where the tokens agree; the header, and positions masked in both, do
    not count, and a position the template already generalised counts as a disagreement (as in Drain)."""
    same = total = 0
    for a, b in zip(template[start:], tokens[start:], strict=True):
        if a == b:
            if a == WILD:
                continue
            same += 1
        total += 1
    return same / total if total else 1.0


def _merge_token(a: str, b: str) -> str:
    """The most specific pattern covering both tokens: the common prefix and suffix, cut at
    delimiters (``/user/root/<*>/part-<*>``, never ``mapreduce.<*>er``), around one ``<*>``."""
    if a == b:
        return a
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    if prefix < len(a) and prefix < len(b):  # both go on: cut back to the last delimiter
        while prefix and a[prefix - 1].isalnum():
            prefix -= 1
    if suffix < len(a) and suffix < len(b):
        while suffix and a[len(a) - suffix].isalnum():
            suffix -= 1
    head, tail = a[:prefix], a[len(a) - suffix :] if suffix else ""
    while head.endswith(("<", "<*")):  # never cut a wildcard in half
        head = head[:-1]
    while tail.startswith((">", "*>")):
        tail = tail[1:]
    if not head.strip("<*>") and not tail.strip("<*>"):
        return WILD
    merged = head + WILD + tail
    while "<*><*>" in merged:
        merged = merged.replace("<*><*>", WILD)
    return merged


def _bucket_key(tokens: list[str], severity: int, start: int) -> tuple[int, int, int, str]:
    """Drain's tree: same severity, token count and header length, and the same first literal token of
    the message (the first literal of the line when the message has none)."""
    lead = next((token for token in tokens[start:] if WILD not in token), "")
    if not lead:
        lead = next((token for token in tokens if WILD not in token), "")
    return severity, len(tokens), start, lead


def split_tokens(signature: str) -> list[str]:
    return [token for token in _PIECES.split(signature) if token and not token.isspace()]


def mine(signatures: dict[str, list[int]], severities: dict[str, int]) -> list[Cluster]:
    """Merge distinct signatures (in order of first appearance) into templates."""
    buckets: dict[tuple[int, int, int, str], list[Cluster]] = {}
    clusters: list[Cluster] = []
    tokens_of: dict[str, list[str]] = {}
    for signature, (count, first, last) in signatures.items():
        tokens = tokens_of[signature] = split_tokens(signature)
        severity = severities[signature]
        start = message_start(tokens)
        bucket = buckets.setdefault(_bucket_key(tokens, severity, start), [])
        best, best_score = None, _SIMILARITY
        for cluster in bucket[-_BUCKET_SCAN:]:
            score = _similarity(cluster.tokens, tokens, start)
            if score >= best_score:
                best, best_score = cluster, score
        if best is None:
            best = Cluster(tokens, severity, first, last, start=start)
            bucket.append(best)
            clusters.append(best)
        best.absorb(signature, tokens, count, first, last)
    out: list[Cluster] = []
    for cluster in clusters:
        out.extend(_split_enumerations(cluster, signatures, tokens_of))
    return out


def _split_enumerations(
    cluster: Cluster, signatures: dict[str, list[int]], tokens_of: dict[str, list[str]]
) -> list[Cluster]:
    """Split a template where a merged position takes only a few literal values (``NEW``/``RUNNING``,
    ``user=root``/``user=guest``): those are part of the message, not variables. In the header (the
    component, the program) they are variables, except for warnings and errors, where each component
    keeps an example of its own."""
    if len(cluster.signatures) < 2:
        return [cluster]
    members = [tokens_of[signature] for signature in cluster.signatures]
    best_position, best_values = -1, _ENUM_LIMIT + 1
    first_position = cluster.start if cluster.severity < _WARNING else 0
    for position, token in enumerate(cluster.tokens):
        if WILD not in token or position < first_position:
            continue
        values = {member[position] for member in members}
        if 1 < len(values) < best_values:
            best_position, best_values = position, len(values)
    if best_position < 0:
        return [cluster]
    groups: dict[str, list[str]] = {}
    for signature, member in zip(cluster.signatures, members, strict=True):
        groups.setdefault(member[best_position], []).append(signature)
    out: list[Cluster] = []
    for group in groups.values():
        _, first, last = signatures[group[0]]
        part = Cluster(tokens_of[group[0]], cluster.severity, first, last, start=cluster.start)
        for signature in group:
            part.absorb(signature, tokens_of[signature], *signatures[signature])
        out.extend(_split_enumerations(part, signatures, tokens_of))
    out.sort(key=lambda part: part.first)
    return out


def render_template(cluster: Cluster) -> str:
    """The cluster's template in its first member's spacing, leading header wildcards dropped."""
    pieces = _PIECES.split(cluster.signatures[0])
    out: list[str] = []
    position = 0
    for piece in pieces:
        if not piece or piece.isspace():
            out.append(piece)
            continue
        out.append(cluster.tokens[position] if position < len(cluster.tokens) else piece)
        position += 1
    rendered = "".join(out).strip()
    # leading tokens that are only wildcards and brackets are the masked timestamp/pid header
    words = rendered.split(" ")
    skip = 0
    while skip < len(words) - 1 and not words[skip].replace(WILD, "").strip("[](),:-|"):
        skip += 1
    return " ".join(words[skip:])


def refine(signature: str) -> str:
    """The second-stage signature: long tokens opaque first, which also bounds every rule's work."""
    if len(signature) >= OPAQUE:
        signature = _LONG_TOKEN.sub(WILD, signature)
    for pattern, replacement, applies in _REFINE:
        if applies(signature):
            signature = pattern.sub(replacement, signature)
    return signature.strip()


_CHUNK = 65_536  # characters masked per C call: other threads (an event loop) get the GIL in between


def mask(text: str) -> list[str]:
    """The first-stage signature of every line of ``text`` (digit runs masked), in line order."""
    parts: list[str] = []
    start = 0
    while start < len(text):
        end = text.find("\n", start + _CHUNK)
        end = len(text) if end < 0 else end + 1
        parts.append(_NUMBERS.sub(WILD, text[start:end].translate(_DIGITS)))
        start = end
    return split_lines("".join(parts))
