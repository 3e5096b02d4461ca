"""Text benchmark: SQuAD 2.0 articles with their questions as the query (QUALITY.md, text row).

An article is the unique paragraphs of one ``title``, in ``paragraph_index`` order, joined with a blank
line. Every answerable question is asked twice: ``compress_text(article, query=question, kind="text",
budget=0.125)`` (8x) and with the default budget. ``--quick`` asks every 10th question.

- answer-span retention: a gold answer, normalised as the official SQuAD script does
  (``normalize_answer``), is a substring of the normalised output; any gold answer counts.
- extractiveness: every output line, markers aside (``strip_markers``: headroom markers and ``…`` gap
  markers, which may also join two kept pieces of one line), is a verbatim piece of the article, and the
  pieces occur in the article's order.
- the BM25 baseline of QUALITY.md: sentences ranked by plain BM25 against the question, taken in score
  order while they fit ``budget x article tokens`` (o200k_base), shown in article order. Our retention at
  0.125 must beat it by a point.

Multi-hop questions (MuSiQue-Ans, ``qa/musique_ans_train_hipporag100.jsonl``, every question even with
``--quick``): the 20 paragraphs of a question (its 2-4 supporting ones among distractors), each its title
line then its text, joined with a blank line, compressed with the question as ``query`` at budget 0.125.
A question is kept when the normalised output holds its answer (or an alias) and every hop's answer
(``question_decomposition[].answer``, the bridge entities the question never names). The BM25 baseline
gets, per question, exactly as many tokens as our output took (the same ratio); ours must beat it by a
point. Answer-only retention is reported beside.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from headroom.integration import MARKER_RE

from ._core import Check, Context, Kind, Section, ratio, read_text, round_trip_check, share, summarize
from ._engine import Measurement
from ._format import TAIL_COLUMNS, fmt_int, fmt_pct, fmt_ratio, mark, plain, tail_cells

BUDGET = 0.125
BASELINE_BUDGETS = (0.125, 0.25)
QUICK_EVERY = 10
RETENTION_MARGIN = 0.01  # our retention at BUDGET must beat the baseline's by one point
K1, B = 1.5, 0.75
_STOPWORDS = """a an and are as at be been but by can could did do does for from had has have he her his how
i if in into is it its of on or she so than that the their them then there these they this to was we were
what when where which who whom whose why will with would you"""
STOPWORDS = frozenset(_STOPWORDS.split())


# --- data ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]


@dataclass
class Article:
    title: str
    paragraphs: dict[int, str] = field(default_factory=dict)
    questions: list[Question] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs[index] for index in sorted(self.paragraphs))


def load_articles(jsonl: str, every: int = 1) -> list[Article]:
    """Articles in order of first appearance; only every ``every``-th question (file order) is kept."""
    articles: dict[str, Article] = {}
    for number, line in enumerate(row for row in jsonl.splitlines() if row.strip()):
        row = json.loads(line)
        article = articles.setdefault(row["title"], Article(row["title"]))
        article.paragraphs.setdefault(int(row["paragraph_index"]), row["context"])
        if number % every == 0:
            article.questions.append(Question(row["id"], row["question"], tuple(row["answers"])))
    return list(articles.values())


# --- metrics -------------------------------------------------------------------------------------------

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    """SQuAD's official normalisation: lower case, punctuation and articles removed, spaces collapsed."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_retained(answers: Iterable[str], normalized_output: str) -> bool:
    """Whether any gold answer, normalised, is a substring of the (already normalised) output."""
    return any(normalize_answer(answer) in normalized_output for answer in answers)


_GAP = r"(?:\[\s*(?:…|\.\.\.)\s*\]|…)"  # a gap marker: "…", "[…]" or "[...]"
_GAP_LINE = re.compile(rf"^\s*(?:{_GAP}|\.\.\.)(?:\s*(?:{_GAP}|\.\.\.))*\s*$")
_SPLIT = re.compile(rf"{MARKER_RE.pattern}|{_GAP}")


def strip_markers(output: str) -> list[str]:
    """The pieces of ``output`` the judge reads as content, in order.

    One piece per line, stripped. A headroom marker (``MARKER_RE``) or a gap marker (``…``, ``[…]``,
    ``[...]``) is cut out, and one inside a line splits it (``A … C`` is the pieces ``A`` and ``C``, each
    judged on its own); a line holding only gap markers (``...`` too) is dropped, as are empty pieces.
    """
    pieces = []
    for line in output.splitlines():
        if _GAP_LINE.match(line):
            continue
        pieces += [piece.strip() for piece in _SPLIT.sub("\n", line).split("\n") if piece.strip()]
    return pieces


def first_non_extractive(output: str, source: str) -> str | None:
    """None when every piece of ``output`` occurs in ``source`` in order, else the first piece that does not.

    Each piece is searched from the end of the previous piece's match.
    """
    position = 0
    for piece in strip_markers(output):
        found = source.find(piece, position)
        if found < 0:
            return piece
        position = found + len(piece)
    return None


# --- the BM25 baseline ---------------------------------------------------------------------------------

_SENTENCE_BREAK = re.compile(r"(?<=[.!?]) +(?=[A-Z])|\n+")
_WORD = re.compile(r"\w+")


def split_sentences(text: str) -> list[str]:
    """Sentences: text split after ``.``/``!``/``?`` followed by spaces and a capital, and at newlines."""
    return [part.strip() for part in _SENTENCE_BREAK.split(text) if part.strip()]


def terms(text: str) -> list[str]:
    """Lower-case word tokens without stopwords."""
    return [word for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


class BM25Baseline:
    """A plain BM25 sentence ranker over one article (k1=1.5, b=0.75, sentences as documents)."""

    def __init__(self, text: str, count: Callable[[str], int]) -> None:
        self.count = count
        self.sentences = split_sentences(text)
        self.tokens = [count(sentence) for sentence in self.sentences]
        self.total_tokens = count(text)
        self.tf = [Counter(terms(sentence)) for sentence in self.sentences]
        self.lengths = [sum(tf.values()) for tf in self.tf]
        self.average = sum(self.lengths) / len(self.lengths) if self.lengths else 0.0
        df = Counter(term for tf in self.tf for term in tf)
        n = len(self.sentences)
        self.idf = {term: math.log(1 + (n - f + 0.5) / (f + 0.5)) for term, f in df.items()}

    def scores(self, question: str) -> list[float]:
        query = set(terms(question))
        out = []
        for tf, length in zip(self.tf, self.lengths, strict=True):
            norm = K1 * (1 - B + B * length / self.average) if self.average else K1
            out.append(sum(self.idf[t] * tf[t] * (K1 + 1) / (tf[t] + norm) for t in query if t in tf))
        return out

    def select(self, question: str, budget: float) -> str:
        """The best sentences while they fit ``budget`` x the article's tokens, joined in article order."""
        scores = self.scores(question)
        limit = budget * self.total_tokens
        kept, used = [], 0
        for index in sorted(range(len(scores)), key=lambda i: (-scores[i], i)):
            if used + self.tokens[index] > limit:
                break
            kept.append(index)
            used += self.tokens[index]
        return "\n".join(self.sentences[index] for index in sorted(kept))


# --- the run -------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """One configuration over a set of questions: answers kept, extractive outputs, tokens."""

    questions: int = 0
    retained: int = 0
    extractive: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def add(self, retained: bool, extractive: bool, tokens_in: int, tokens_out: int) -> None:
        self.questions += 1
        self.retained += retained
        self.extractive += extractive
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out

    def merge(self, other: Tally) -> None:
        for name in ("questions", "retained", "extractive", "tokens_in", "tokens_out"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def retention(self) -> float:
        return share(self.retained, self.questions)

    @property
    def ratio(self) -> float | None:
        return ratio(self.tokens_in, self.tokens_out)

    def as_json(self) -> dict[str, object]:
        return {
            "questions": self.questions,
            "retained": self.retained,
            "retention": self.retention,
            "extractive": self.extractive,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "ratio": self.ratio,
        }


def _budget_label(budget: float | None) -> str:
    return "default" if budget is None else f"{budget:g}"


class _Judge:
    """Normalised outputs and extractiveness verdicts, cached by output text (outputs repeat a lot)."""

    def __init__(self) -> None:
        self.normalized: dict[str, str] = {}
        self.verdicts: dict[tuple[str, str], str | None] = {}

    def retained(self, answers: tuple[str, ...], output: str) -> bool:
        if output not in self.normalized:
            self.normalized[output] = normalize_answer(output)
        return answer_retained(answers, self.normalized[output])

    def offending(self, output: str, source: str) -> str | None:
        key = (output, source)
        if key not in self.verdicts:
            self.verdicts[key] = first_non_extractive(output, source)
        return self.verdicts[key]


def run(ctx: Context) -> Section:
    """Ask every (or, with ``--quick``, every 10th) question at budget 0.125 and the default budget."""
    columns = ["article", "questions", "tokens"]
    columns += ["ratio .125", "answer .125", "extract .125", "BM25 answer", "BM25 ratio"]
    columns += ["ratio dflt", "answer dflt", "extract dflt"]
    every = QUICK_EVERY if ctx.quick else 1
    section = Section(
        "text",
        "text: SQuAD 2.0 articles, question as query, budget 0.125 and default"
        + (f" (every {every}th question)" if every > 1 else ""),
        [*columns, *TAIL_COLUMNS],
        text_columns=1,
    )
    path = ctx.data_dir / "qa" / "squad_v2_dev_answerable.jsonl"
    articles = load_articles(read_text(path), every)
    budgets: tuple[float | None, ...] = (BUDGET, None)
    totals = {budget: Tally() for budget in budgets}
    baseline_totals = {budget: Tally() for budget in BASELINE_BUDGETS}
    measured: list[Measurement] = []
    judge = _Judge()
    offenders: list[str] = []
    rows: list[dict[str, object]] = []
    for article in articles:
        text = article.text
        tokens_in = ctx.engine.count(text)
        encode_ms = ctx.engine.encode_ms(text, ctx.runs)
        baseline = BM25Baseline(text, ctx.engine.count)
        ctx.say(f"text: {article.title}, {len(article.questions)} questions, {tokens_in:,} tokens")
        ours = {budget: Tally() for budget in budgets}
        base = {budget: Tally() for budget in BASELINE_BUDGETS}
        article_measured: list[Measurement] = []
        for number, q in enumerate(article.questions):
            for budget in budgets:
                case = f"{article.title} q{number} @{_budget_label(budget)}"
                if number == 0:  # one timed case per article and budget, for the speed table
                    m = ctx.measure("text", case, text, q.question, as_kind="text", budget=budget)
                else:
                    m = ctx.engine.measure(
                        "text", case, text, q.question, 0, as_kind="text", budget=budget,
                        tokens_in=tokens_in, encode_ms=encode_ms,
                    )  # fmt: skip
                article_measured.append(m)
                retained = judge.retained(q.answers, m.text)
                offending = judge.offending(m.text, text)
                if offending is not None and len(offenders) < 5:
                    offenders.append(f"{case}: {offending[:100]!r}")
                ours[budget].add(retained, offending is None, tokens_in, m.tokens_out)
                rows.append(
                    {**m.as_json(), "id": q.id, "retained": retained, "extractive": offending is None}
                )
            for budget in BASELINE_BUDGETS:
                kept = baseline.select(q.question, budget)
                retained, extractive = judge.retained(q.answers, kept), judge.offending(kept, text) is None
                base[budget].add(retained, extractive, tokens_in, ctx.engine.count(kept))
        for budget in budgets:
            totals[budget].merge(ours[budget])
        for budget in BASELINE_BUDGETS:
            baseline_totals[budget].merge(base[budget])
        measured += article_measured
        section.rows.append(
            [
                plain(article.title),
                str(len(article.questions)),
                fmt_int(tokens_in),
                *_cells(ours, base[BUDGET]),
                *tail_cells(summarize(article_measured), None),
            ]
        )
    group = summarize(measured)
    section.rows.append(
        [
            "[bold]all[/]",
            str(totals[BUDGET].questions),
            "",
            *_cells(totals, baseline_totals[BUDGET]),
            *tail_cells(group, None),
        ]
    )
    for budget, tally in baseline_totals.items():
        section.notes.append(
            f"BM25 baseline at budget {budget:g}: answer kept in {fmt_pct(tally.retention)} "
            f"({tally.retained}/{tally.questions}), ratio {fmt_ratio(tally.ratio)}"
        )
    if offenders:
        section.notes.append("not extractive, e.g. " + "; ".join(offenders))
    ours_8x, base_8x = totals[BUDGET], baseline_totals[BUDGET]
    value = ours_8x.ratio or 0.0
    verbatim = sum(t.extractive for t in totals.values())
    asked = sum(t.questions for t in totals.values())
    subset = f" (every {every}th question)" if every > 1 else ""
    section.checks += [
        Check(
            f"text answer retention at budget {BUDGET:g} >= BM25 baseline + 1 point{subset}",
            ours_8x.retention >= base_8x.retention + RETENTION_MARGIN,
            f"{fmt_pct(ours_8x.retention)} vs BM25 {fmt_pct(base_8x.retention)}",
        ),
        Check(f"text ratio >= {1 / BUDGET:g}x at budget {BUDGET:g}", value >= 1 / BUDGET, f"{value:.1f}x"),
        Check("text output extractive 100%", verbatim == asked, f"{verbatim}/{asked}"),
    ]
    section.data = {
        "summary": {
            **group.as_json(),
            "every": every,
            "ours": {_budget_label(b): t.as_json() for b, t in totals.items()},
            "bm25": {_budget_label(b): t.as_json() for b, t in baseline_totals.items()},
        },
        "cases": rows,
    }
    measured += run_multi_hop(ctx, section)
    section.checks.append(round_trip_check("text", summarize(measured)))
    return section


@dataclass(frozen=True)
class MultiHop:
    """One MuSiQue question: its document (20 titled paragraphs), answers and each hop's answer."""

    id: str
    question: str
    text: str
    answers: tuple[str, ...]
    hops: tuple[str, ...]


def load_multi_hop(jsonl: str) -> list[MultiHop]:
    """MuSiQue rows in file order."""
    found = []
    for line in jsonl.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        text = "\n\n".join(f"{p['title']}\n{p['paragraph_text']}" for p in row["paragraphs"])
        hops = tuple(hop["answer"] for hop in row["question_decomposition"])
        answers = (row["answer"], *row.get("answer_aliases", ()))
        found.append(MultiHop(row["id"], row["question"], text, answers, hops))
    return found


def multi_hop_kept(question: MultiHop, normalized_output: str) -> tuple[bool, bool]:
    """(the answer or an alias is visible, and so is every hop's answer too)."""
    answer = answer_retained(question.answers, normalized_output)
    hops = all(normalize_answer(hop) in normalized_output for hop in question.hops)
    return answer, answer and hops


def run_multi_hop(ctx: Context, section: Section) -> list[Measurement]:
    """The MuSiQue rows and check of the text section; returns the measurements (for the speed table)."""
    path = ctx.data_dir / "qa" / "musique_ans_train_hipporag100.jsonl"
    if not path.is_file():
        section.notes.append(f"MuSiQue skipped: {path.name} not found")
        return []
    questions = load_multi_hop(read_text(path))
    ctx.say(f"text: MuSiQue, {len(questions)} multi-hop questions")
    measured: list[Measurement] = []
    kept = {"ours": [0, 0], "BM25": [0, 0]}  # [answer, answer and every hop]
    tokens = {"ours": 0, "BM25": 0}
    tokens_in = extractive = 0
    for number, q in enumerate(questions):
        case = f"MuSiQue {q.id} @{BUDGET:g}"
        if number == 0:
            m = ctx.measure("text", case, q.text, q.question, as_kind="text", budget=BUDGET)
        else:
            m = ctx.engine.measure("text", case, q.text, q.question, 0, as_kind="text", budget=BUDGET)
        measured.append(m)
        extractive += first_non_extractive(m.text, q.text) is None
        base = BM25Baseline(q.text, ctx.engine.count).select(q.question, m.tokens_out / max(m.tokens_in, 1))
        tokens_in += m.tokens_in
        for name, output, count in (("ours", m.text, m.tokens_out), ("BM25", base, ctx.engine.count(base))):
            answer, every = multi_hop_kept(q, normalize_answer(output))
            kept[name][0] += answer
            kept[name][1] += every
            tokens[name] += count
    n = len(questions)
    ours, base = share(kept["ours"][1], n), share(kept["BM25"][1], n)
    section.rows.append(
        [
            "[bold]MuSiQue[/] (multi-hop)",
            str(n),
            fmt_int(tokens_in),
            fmt_ratio(ratio(tokens_in, tokens["ours"])),
            mark(fmt_pct(ours), ours >= base + RETENTION_MARGIN),
            mark(fmt_pct(share(extractive, n)), extractive == n),
            fmt_pct(base),
            fmt_ratio(ratio(tokens_in, tokens["BM25"])),
            "-",
            "-",
            "-",
            *tail_cells(summarize(measured), None),
        ]
    )
    section.notes.append(
        f"MuSiQue at budget {BUDGET:g}: answer and every hop's answer kept in {fmt_pct(ours)} "
        f"({kept['ours'][1]}/{n}), BM25 at the same ratio {fmt_pct(base)} ({kept['BM25'][1]}/{n}); "
        f"answer alone {kept['ours'][0]}/{n} vs BM25 {kept['BM25'][0]}/{n}"
    )
    section.checks += [
        Check(
            f"text MuSiQue answer and hops at budget {BUDGET:g} >= BM25 at the same ratio + 1 point",
            ours >= base + RETENTION_MARGIN,
            f"{fmt_pct(ours)} vs BM25 {fmt_pct(base)}",
        ),
        Check("text MuSiQue output extractive 100%", extractive == n, f"{extractive}/{n}"),
    ]
    section.data["multi_hop"] = {
        "questions": n,
        "ours": {"answer": kept["ours"][0], "answer_and_hops": kept["ours"][1], "tokens_out": tokens["ours"]},
        "bm25": {"answer": kept["BM25"][0], "answer_and_hops": kept["BM25"][1], "tokens_out": tokens["BM25"]},
        "tokens_in": tokens_in,
    }
    return measured


def _cells(ours: dict[float | None, Tally], baseline: Tally) -> list[str]:
    """Ours at BUDGET (ratio, answers, extractive), the baseline at BUDGET, ours at the default budget."""
    cells = []
    for budget in (BUDGET, None):
        tally = ours[budget]
        beats = tally.retention >= baseline.retention + RETENTION_MARGIN if budget == BUDGET else None
        extractive = mark(
            fmt_pct(share(tally.extractive, tally.questions)), tally.extractive == tally.questions
        )
        cells += [fmt_ratio(tally.ratio), mark(fmt_pct(tally.retention), beats), extractive]
        if budget == BUDGET:
            cells += [fmt_pct(baseline.retention), fmt_ratio(baseline.ratio)]
    return cells


KIND = Kind("text", run)
