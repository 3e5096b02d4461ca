from __future__ import annotations

import hashlib

from headroom._markers import MARKER_RE, Marker, make_ref, marker_refs, normalize_ref


def test_a_ref_is_24_hex_of_sha256() -> None:
    ref = make_ref("hello")
    assert ref == hashlib.sha256(b"hello").hexdigest()[:24]
    assert len(ref) == 24
    assert ref == ref.lower()


def test_refs_are_content_addresses() -> None:
    assert make_ref("a") == make_ref("a")
    assert make_ref("a") != make_ref("b")
    assert len(make_ref("lone \udcff surrogate")) == 24


def test_lookups_are_case_insensitive() -> None:
    ref = make_ref("x")
    assert normalize_ref(ref.upper()) == ref
    assert normalize_ref(f"  {ref}\n") == ref
    assert normalize_ref("xyz") is None
    assert normalize_ref("g" * 24) is None


def test_retrievable_markers_name_the_tool_and_parse_back() -> None:
    ref = make_ref("original")
    text = Marker(ref, retrievable=True)(1834, "lines")
    assert "headroom_retrieve" in text
    match = MARKER_RE.fullmatch(text)
    assert match is not None
    assert (match["count"], match["unit"], match["ref"], match["tool"]) == (
        "1834",
        "lines",
        ref,
        "headroom_retrieve",
    )


def test_lossy_markers_keep_the_ref_but_name_no_tool() -> None:
    ref = make_ref("original")
    text = Marker(ref, retrievable=False)(3, "records")
    assert "headroom_retrieve" not in text
    match = MARKER_RE.fullmatch(text)
    assert match is not None
    assert match["ref"] == ref
    assert match["tool"] is None


def test_marker_refs_finds_each_ref_once_in_order() -> None:
    a, b = make_ref("a"), make_ref("b")
    text = f"x {Marker(a, True)(1, 'lines')} y {Marker(b, False)(2, 'hits')} {Marker(a, True)(5, 'lines')}"
    assert marker_refs(text) == [a, b]
    assert marker_refs("[… 3 lines omitted; ref=nothex]") == []
