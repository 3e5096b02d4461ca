"""The registered benchmark kinds, in report order. To add a kind: write ``bench/_<kind>.py`` exposing
``KIND = Kind("<kind>", run)`` (see ``_core.Kind``) and add it here."""

from __future__ import annotations

from . import _code, _diff, _html, _json, _log, _outputs, _search, _text
from ._core import Kind

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        _log.KIND,
        _json.KIND,
        _search.KIND,
        _code.KIND,
        _diff.KIND,
        _outputs.KIND,
        _text.KIND,
        _html.KIND,
    )
}
