"""Render a JSON document as compact, unambiguous text, with the records chosen by the picker.

The format reads like YAML (``key: value``, two-space indentation) with devices that remove
repetition without hiding anything:

- **tables**: uniform records become ``items[120] id|name|status`` with one row per record; columns
  with the same value in every row are stated once (``all rows: state=open; locked=false``) and columns
  derived from another column are stated as a template (``url = {repository_url}/issues/{number}``),
  except a record's name field, which stays literal;
- **templates** inside an object: ``forks_url: {url}/forks`` when a value extends another field's value;
- **same as**: a subtree repeated verbatim reads ``owner: (same as [0].response.owner)``;
- **like**: a subtree close to an earlier one at the same place reads ``response: (like
  [1].response, except:)`` followed by only what differs;
- **keyed maps**: a map of records keyed by ids reads like an array, ``versions{160}`` (a table with a
  ``(key)`` column when flat), its members compared as one family (``versions["1.2.0"]``); a long map of
  scalars keyed by ids keeps its ends and anomalies; a map with one value for every key is one line.

Strings are written raw unless that would be ambiguous (empty, padded, multi-line, looking like a
number, ``null`` or one of our own notations), in which case they are JSON-quoted. Omitted records
leave a gap line (``… 13 records omitted ([1]–[13])``, or the omitted keys of a map) and key paths
found only in omitted records are listed, so the schema survives whole.
"""

from __future__ import annotations

import difflib
from typing import Any

from ._json_pick import dumps
from ._json_shape import one_value, scalar_map_hidden
from ._json_text import (
    LONG_STRING,
    LONG_STRING_KEEP,
    child_path,
    collapse,
    column_templates,
    key_label,
    member_path,
    scalar,
    table_rows,
    url_templates,
    with_gaps,
)
from .text import excerpt

_MIN_SHARED = 80  # subtrees shorter than this (compact JSON chars) are cheaper to repeat than to refer to
_LIKE_SIMILARITY = 0.6
_LONG_LIST = 60
_LIST_HEAD, _LIST_TAIL = 20, 10
_TIGHT_STRING, _TIGHT_STRING_KEEP = 200, 80
_EXCERPT_SHARE, _EXCERPT_MAX = 0.25, 4  # a long prose string keeps a quarter, at most 4x the plain cut
_TIGHT_LIST, _TIGHT_HEAD, _TIGHT_TAIL = 12, 6, 3
_MIN_SAME_VALUES = 8
_KEY_COLUMN = "(key)"  # the map key, as the first column of a keyed table


class Renderer:
    """Renders one document; ``keep`` maps ``id(list)`` to the indices of records to show."""

    def __init__(
        self,
        keep: dict[int, set[int]],
        extra_paths: dict[int, list[str]],
        tight: bool = False,
        query: str | None = None,
        keyed: set[int] | None = None,
        partial: dict[int, set[str]] | None = None,
    ) -> None:
        """``tight`` shortens long strings and long lists much more (used to meet a budget); long
        prose strings keep the sentences that matter to ``query`` (RAG documents, issue bodies);
        ``keyed`` holds the ``id`` of every map of records keyed by ids (rendered like arrays);
        ``partial`` maps a record kept only for its nested records to the members it leaves out."""
        self.keep = keep
        self.keyed = keyed or set()
        self.partial = partial or {}
        self.query = query
        self.string_limits = (_TIGHT_STRING, _TIGHT_STRING_KEEP) if tight else (LONG_STRING, LONG_STRING_KEEP)
        self.list_limits = (
            (_TIGHT_LIST, _TIGHT_HEAD, _TIGHT_TAIL) if tight else (_LONG_LIST, _LIST_HEAD, _LIST_TAIL)
        )
        self.extra_paths = extra_paths
        self.lines: list[str] = []
        self.seen: dict[str, str] = {}  # compact JSON of a rendered subtree -> its path
        self.references: dict[str, list[tuple[str, Any, dict[str, str]]]] = {}
        self.dropped = 0  # records and list items left out
        self.left_out = 0  # members left out of records kept for their nested records
        self.cut = [0]  # characters cut from very long strings
        self.preambles: dict[str, str] = {}  # a table's constants and templates -> the table's path

    def _scalar(self, value: Any, delimiter: str) -> str:
        return scalar(value, delimiter, self.cut, self.string_limits, self._excerpt)

    def _excerpt(self, value: str) -> str | None:
        """The sentences of a long prose string that matter to the query (None: not prose)."""
        keep = self.string_limits[1]
        room = max(keep, min(_EXCERPT_SHARE * len(value), _EXCERPT_MAX * keep))
        picked = excerpt(value, self.query, lambda _: room)
        return None if picked is None else picked[0]

    # --- entry ----------------------------------------------------------------------------------------

    def render(self, document: Any) -> str:
        if isinstance(document, dict) and id(document) in self.keyed:
            self._records("", list(document.values()), "", "", document)
        elif isinstance(document, dict):
            self._members(document, "", "")
        else:
            self._value("", document, "", "")
        return "\n".join(self.lines)

    # --- values ---------------------------------------------------------------------------------------

    def _value(self, label: str, value: Any, path: str, indent: str) -> None:
        head = f"{indent}{label}" if label else indent
        if isinstance(value, dict):
            self._object(head, value, path, indent)
        elif isinstance(value, list):
            self._array(head, value, path, indent)
        else:
            text = self._scalar(value, "")
            self.lines.append(f"{head}: {text}" if label else f"{indent}{text}")

    def _shared(self, head: str, value: Any, path: str) -> bool:
        """Write ``(same as PATH)`` when this subtree was already written verbatim."""
        text = dumps(value)
        if len(text) < _MIN_SHARED:
            return False
        earlier = self.seen.get(text)
        if earlier is not None:
            self.lines.append(f"{head}: (same as {earlier or 'the root'})")
            return True
        self.seen[text] = path
        return False

    def _object(self, head: str, obj: dict[str, Any], path: str, indent: str) -> None:
        if not obj:
            self.lines.append(f"{head}: {{}}")
            return
        if id(obj) in self.keyed:
            self._records(head, list(obj.values()), path, indent, obj)
            return
        left_out = self.partial.get(id(obj))
        if left_out:
            names = ", ".join(key_label(key) for key in obj if key in left_out)
            self.lines.append(f"{head}: (partly shown; not shown: {names})")
            self.left_out += len(left_out)
            shown = {key: value for key, value in obj.items() if key not in left_out}
            self._members(shown, path, indent + "  ")
            return
        if (
            self._shared(head, obj, path)
            or self._same_values(head, obj)
            or self._scalar_map(head, obj, indent)
        ):
            return
        templates = url_templates(obj)
        shape = {key: templates.get(key) or dumps(value) for key, value in obj.items()}
        reference = self._reference(path, shape)
        if reference is not None:
            ref_path, ref_obj, ref_shape = reference
            self.lines.append(f"{head}: (like {ref_path}, except:)")
            inner = indent + "  "
            for key, value in obj.items():
                if ref_shape.get(key) == shape[key]:
                    continue
                if key in templates:
                    self.lines.append(f"{inner}{key_label(key)}: {templates[key]}")
                else:
                    self._value(key_label(key), value, child_path(path, key), inner)
            for key in ref_obj:
                if key not in obj:
                    self.lines.append(f"{inner}{key_label(key)}: (absent)")
            return
        self.references.setdefault(collapse(path), []).append((path, obj, shape))
        self.lines.append(f"{head}:")
        self._members(obj, path, indent + "  ", templates)

    def _same_values(self, head: str, obj: dict[str, Any]) -> bool:
        """A map whose values are all one scalar (``users: {"ada": true, ...}``, flags, sets written as
        maps) is its keys: one line, the shared value stated once."""
        if not one_value(obj, _MIN_SAME_VALUES):
            return False
        names = ", ".join(scalar(key, ",") for key in obj)
        self.lines.append(f"{head}{{{len(obj)}}} each {self._scalar(next(iter(obj.values())), ',')}: {names}")
        return True

    def _scalar_map(self, head: str, obj: dict[str, Any], indent: str) -> bool:
        """A long map of scalars keyed by ids, shortened like a long list (see ``scalar_map_hidden``)."""
        hidden = scalar_map_hidden(obj, *self.list_limits)
        if hidden is None:
            return False
        self.lines.append(f"{head}{{{len(obj)}}}:")
        inner = indent + "  "
        run: list[str] = []
        for key, value in obj.items():
            if key in hidden:
                run.append(key)
                continue
            self._omitted_keys(inner, run)
            run = []
            self.lines.append(f"{inner}{key_label(key)}: {self._scalar(value, '')}")
        self._omitted_keys(inner, run)
        return True

    def _omitted_keys(self, indent: str, keys: list[str]) -> None:
        if keys:
            self.dropped += len(keys)
            names = ", ".join(scalar(key, ",") for key in keys)
            self.lines.append(f"{indent}… {len(keys)} entries omitted: {names}")

    def _reference(self, path: str, shape: dict[str, str]) -> tuple[str, Any, dict[str, str]] | None:
        best, best_score = None, _LIKE_SIMILARITY
        for candidate in self.references.get(collapse(path), [])[-4:]:
            other = candidate[2]
            keys = shape.keys() | other.keys()
            score = sum(1 for key in keys if shape.get(key) == other.get(key)) / len(keys)
            if score >= best_score:
                best, best_score = candidate, score
        return best

    def _members(
        self, obj: dict[str, Any], path: str, indent: str, templates: dict[str, str] | None = None
    ) -> None:
        if templates is None:
            templates = url_templates(obj)
        for key, value in obj.items():
            if key in templates:
                self.lines.append(f"{indent}{key_label(key)}: {templates[key]}")
            else:
                self._value(key_label(key), value, child_path(path, key), indent)

    # --- arrays ---------------------------------------------------------------------------------------

    def _array(self, head: str, items: list[Any], path: str, indent: str) -> None:
        if not items:
            self.lines.append(f"{head}: []")
            return
        if all(isinstance(item, dict) for item in items):
            self._records(head, items, path, indent)
            return
        if all(not isinstance(item, (dict, list)) for item in items):
            self._scalars(head, items, path, indent)
            return
        if self._shared(head, items, path):
            return
        self.lines.append(f"{head}[{len(items)}]:")
        for index, item in enumerate(items):
            self._value(f"[{index}]", item, f"{path}[{index}]", indent + "  ")

    def _scalars(self, head: str, items: list[Any], path: str, indent: str) -> None:
        if self._shared(head, items, path):
            return
        key = collapse(path)
        for ref_path, ref_items, _ in self.references.get(key, [])[-2:]:
            if isinstance(ref_items, list) and self._scalar_diff(head, items, ref_path, ref_items, indent):
                return
        self.references.setdefault(key, []).append((path, items, {}))
        shown = [self._scalar(item, ",") for item in items]
        longest, head_count, tail_count = self.list_limits
        if len(items) > longest:
            omitted = len(items) - head_count - tail_count
            self.dropped += omitted
            shown = [*shown[:head_count], f"… {omitted} items omitted …", *shown[-tail_count:]]
        self.lines.append(f"{head}[{len(items)}]: {', '.join(shown)}")

    def _scalar_diff(
        self, head: str, items: list[Any], ref_path: str, ref_items: list[Any], indent: str
    ) -> bool:
        new = [dumps(item) for item in items]
        old = [dumps(item) for item in ref_items]
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        same = sum(block.size for block in matcher.get_matching_blocks())
        if same < _LIKE_SIMILARITY * max(len(new), len(old)):
            return False
        self.lines.append(f"{head}[{len(items)}]: (like {ref_path}, except:)")
        inner = indent + "  "
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            if j2 > j1:
                values = ", ".join(self._scalar(item, ",") for item in items[j1:j2])
                where = f"[{j1}]" if j2 - j1 == 1 else f"[{j1}..{j2 - 1}]"
                verb = "inserted" if tag == "insert" else "now"
                self.lines.append(f"{inner}{where} {verb}: {values}")
            if tag == "delete" or (tag == "replace" and i2 - i1 > j2 - j1):
                where = f"[{i1}]" if i2 - i1 == 1 else f"[{i1}..{i2 - 1}]"
                self.lines.append(f"{inner}{ref_path}{where} removed")
        return True

    def _records(
        self,
        head: str,
        records: list[dict[str, Any]],
        path: str,
        indent: str,
        node: dict[str, Any] | list[Any] | None = None,
    ) -> None:
        """An array of records, or (``node`` a map keyed by ids) the map's values with its keys: a table
        when the kept records are flat, else one block per record, gaps naming what was omitted."""
        node = records if node is None else node
        keys = list(node) if isinstance(node, dict) else None
        keep = self.keep.get(id(node))
        indices = sorted(keep) if keep is not None else list(range(len(records)))
        if keep is None and self._shared(head, node, path):
            return
        rows = table_rows([records[i] for i in indices])
        inner = indent + "  "
        if rows is not None:
            if keys is not None:
                rows = [{_KEY_COLUMN: keys[i], **row} for i, row in zip(indices, rows, strict=True)]
            self._table(head, len(records), indices, rows, path, indent, keys)
        else:
            self.lines.append(f"{head}{_count(len(records), keys)}:")
            for index, gap in with_gaps(indices):
                if gap:
                    self._gap(inner, gap, index, keys)
                if keys is None:
                    self._value(f"[{index}]", records[index], f"{path}[{index}]", inner)
                else:
                    key = keys[index]
                    self._value(key_label(key), records[index], member_path(path, key), inner)
            if indices and indices[-1] < len(records) - 1:
                self._gap(inner, len(records) - 1 - indices[-1], len(records), keys)
        for extra in self.extra_paths.get(id(node), []):
            self.lines.append(f"{inner}(omitted records also have: {extra})")

    def _gap(self, indent: str, count: int, before: int, keys: list[str] | None = None) -> None:
        """An omitted run: by index range in an array, by every key in a map (the keys stay findable)."""
        self.dropped += count
        first, last = before - count, before - 1
        unit = "record" if count == 1 else "records"
        if keys is None:
            where = f"[{first}]" if count == 1 else f"[{first}]–[{last}]"
            self.lines.append(f"{indent}… {count} {unit} omitted ({where})")
        else:
            names = ", ".join(scalar(key, ",") for key in keys[first:before])
            self.lines.append(f"{indent}… {count} {unit} omitted: {names}")

    # --- tables ---------------------------------------------------------------------------------------

    def _table(
        self,
        head: str,
        count: int,
        indices: list[int],
        flat: list[dict[str, Any]],
        path: str,
        indent: str,
        keys: list[str] | None,
    ) -> None:
        columns = list(dict.fromkeys(column for row in flat for column in row))
        constant: list[str] = []
        varying: list[str] = []
        for column in columns:
            values = {dumps(row[column]) if column in row else "\0" for row in flat}
            (constant if len(values) == 1 and "\0" not in values else varying).append(column)
        templates = column_templates(flat, varying)
        shown = [column for column in varying if column not in templates]
        self.lines.append(f"{head}{_count(count, keys)} {'|'.join(shown)}")
        inner = indent + "  "
        preamble: list[str] = []
        if constant:
            pairs = "; ".join(f"{column}={self._scalar(flat[0][column], ';')}" for column in constant)
            preamble.append(f"all rows: {pairs}")
        preamble.extend(f"{column} = {template}" for column, template in templates.items())
        key = "\n".join(preamble)
        earlier = self.preambles.get(key) if len(key) >= _MIN_SHARED else None
        if earlier is not None:
            self.lines.append(f"{inner}all rows and templates: (same as {earlier})")
        else:
            self.preambles.setdefault(key, path)
            self.lines.extend(inner + line for line in preamble)
        for (index, gap), row in zip(with_gaps(indices), flat, strict=True):
            if gap:
                self._gap(inner, gap, index, keys)
            cells = ["" if column not in row else self._scalar(row[column], "|") for column in shown]
            self.lines.append(inner + "|".join(cells))
        if indices and indices[-1] < count - 1:
            self._gap(inner, count - 1 - indices[-1], count, keys)


def _count(count: int, keys: list[str] | None) -> str:
    """``[N]`` for an array, ``{N}`` for a map keyed by ids."""
    return f"[{count}]" if keys is None else f"{{{count}}}"


__all__ = ["Renderer", "collapse", "scalar"]
