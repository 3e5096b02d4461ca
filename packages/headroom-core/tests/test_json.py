from __future__ import annotations

import json
import re
from typing import Any

import pytest
from headroom._compressors import Job
from headroom._compressors.json import compress
from headroom._markers import MARKER_RE, Marker, make_ref


def run(document: Any, query: str | None = None, indent: int | None = 2) -> str:
    text = json.dumps(document, indent=indent)
    out = compress(Job(text=text, query=query, budget=None, marker=Marker(make_ref(text), True)))
    assert out is not None
    return out


def orders(count: int = 80) -> list[dict[str, Any]]:
    return [
        {
            "id": 5000 + i,
            "status": "delivered",
            "amount": 40 + (i % 7),
            "customer": {"id": "cus_1", "name": "Ada Lovelace", "tier": "gold"},
            "url": f"https://api.shop.example/orders/{5000 + i}",
            "invoice_url": f"https://api.shop.example/orders/{5000 + i}/invoice",
            "tags": [],
        }
        for i in range(count)
    ]


def test_middle_records_go_behind_one_marker_and_the_ends_stay() -> None:
    out = run({"items": orders()})
    assert "5000|" in out
    assert "5079|" in out
    assert "5040|" not in out
    markers = MARKER_RE.findall(out)
    assert len(markers) == 1
    assert markers[0][1] == "records"
    assert "… 78 records omitted ([1]–[78])" in out


def test_anomalies_survive() -> None:
    items = orders()
    items[20]["status"] = "refunded"  # a rare value in a categorical column
    items[33]["amount"] = 9999  # a numeric outlier
    items[47]["error"] = {"code": "card_declined"}
    items[47]["status_code"] = 402  # a non-2xx record
    out = run({"items": items})
    for record in (items[20], items[33], items[47]):
        assert f"{record['id']}|" in out
    assert "refunded" in out
    assert "9999" in out
    assert "card_declined" in out


def test_non_2xx_statuses_survive_in_nested_arrays() -> None:
    calls = [{"method": "get", "path": f"/r/{i}", "status": 200, "response": {"ok": True}} for i in range(12)]
    calls[5]["status"] = 503
    out = run(calls)
    assert "/r/5" in out
    assert "503" in out


def test_query_matches_survive() -> None:
    items = orders()
    items[41]["customer"] = {"id": "cus_9", "name": "Grace Hopper", "tier": "gold"}
    out = run({"items": items}, query="what did Grace Hopper order?")
    assert "5041|" in out
    assert "Grace Hopper" in out


def test_the_schema_survives_even_from_omitted_records() -> None:
    items = orders()
    items[40]["coupon"] = {"code": "WINTER"}
    items[41]["coupon"] = {"code": "SUMMER"}
    out = run({"items": items})
    assert "(omitted records also have: coupon, coupon.code)" in out


def test_uniform_records_become_a_table_with_constants_and_templates_stated_once() -> None:
    out = run({"items": orders()})
    assert "items[80] id|amount" in out
    assert (
        "all rows: status=delivered; customer.id=cus_1; customer.name=Ada Lovelace; customer.tier=gold; tags=[]"
        in out
    )
    assert "url = https://api.shop.example/orders/{id}" in out
    assert "invoice_url = {url}/invoice" in out
    assert "https://api.shop.example/orders/5079" not in out


def test_repeated_and_similar_subtrees_are_referenced() -> None:
    owner = {
        "login": "octo-org",
        "id": 1,
        "url": "https://api.example/users/octo-org",
        "type": "Organization",
    }
    repo = {"name": "alpha", "owner": owner, "organization": owner, "description": "first repo", "stars": 3,
            "topics": ["x"], "license": None, "fork": False, "archived": False, "visibility": "public"}  # fmt: skip
    calls = [
        {"step": i, "response": dict(repo, description=f"step {i}") if i else repo, "log": [{"at": i}]}
        for i in range(2)
    ]
    out = run(calls)
    assert "organization: (same as [0].response.owner)" in out
    assert "response: (like [0].response, except:)" in out
    assert "description: step 1" in out


def test_strings_are_quoted_only_when_needed() -> None:
    out = run({"a": "plain", "b": "", "c": " padded ", "d": "123", "e": "null", "f": "two\nlines", "g": 123})
    lines = out.splitlines()
    assert "a: plain" in lines
    assert 'b: ""' in lines
    assert 'c: " padded "' in lines
    assert 'd: "123"' in lines
    assert 'e: "null"' in lines
    assert 'f: "two\\nlines"' in lines
    assert "g: 123" in lines


def test_json_lines_are_one_array() -> None:
    text = "\n".join(json.dumps({"id": i, "kind": "row", "value": i % 3}) for i in range(50))
    out = compress(Job(text=text, query=None, budget=None, marker=Marker(make_ref(text), True)))
    assert out is not None
    assert "[50] id|value" in out


@pytest.mark.parametrize("text", ['{"a": [1, 2', "not json at all {", '"just a string"', "42"])
def test_what_is_not_a_document_passes(text: str) -> None:
    assert compress(Job(text=text, query=None, budget=None, marker=Marker("0" * 24, True))) is None


def test_huge_integers_and_unicode_keys_render() -> None:
    text = '{"big": 1208925819614629174706176, "nan": NaN, "ключ": "значение", "weird key": 1}'
    out = compress(Job(text=text, query=None, budget=None, marker=Marker(make_ref(text), True)))
    assert out is not None
    lines = out.splitlines()
    assert "big: 1208925819614629174706176" in lines
    assert "nan: NaN" in lines
    assert "ключ: значение" in lines
    assert '"weird key": 1' in lines


def test_long_strings_are_shortened_with_a_marker() -> None:
    out = run({"blob": "x" * 50_000, "id": 1})
    assert "(+49600 chars)" in out
    assert re.search(r"\[… 49600 characters omitted; headroom_retrieve ref=[0-9a-f]{24}\]", out)


def test_output_is_deterministic() -> None:
    assert run({"items": orders()}) == run({"items": orders()})


def test_a_budget_shortens_long_values_but_keeps_required_records() -> None:
    items = orders(40)
    for item in items:
        item["notes"] = "delivery instructions: " + "leave at the door, " * 30
        item["tags"] = [f"t{k}" for k in range(30)]
    text = json.dumps({"items": items})
    default = compress(Job(text=text, query=None, budget=None, marker=Marker(make_ref(text), True)))
    tight = compress(Job(text=text, query=None, budget=0.01, marker=Marker(make_ref(text), True)))
    assert default is not None
    assert tight is not None
    assert len(tight) < len(default)
    assert "5000" in tight
    assert "5039" in tight


def test_long_prose_strings_keep_the_sentences_the_query_asks_about() -> None:
    # RAG results and issue bodies: a long text field is excerpted, not cut after its first 400 chars
    filler = [
        f"The billing process in region {j} is reviewed every week by the platform team." for j in range(40)
    ]
    body = " ".join([*filler[:25], "Refunds above 500 euros need approval from Dana Okafor.", *filler[25:]])
    documents = [{"name": f"doc-{i}", "content": body if i == 1 else " ".join(filler)} for i in range(3)]
    out = run(documents, query="Who approves refunds above 500 euros?")
    assert "Refunds above 500 euros need approval from Dana Okafor." in out
    assert "(+" in out  # the cut is still counted
    blob = "x" * 5000  # not prose: cut to its start as before
    assert '"' + "x" * 400 + '…" (+4600 chars)' in run({"blob": blob, "n": 1})


def test_encoded_blobs_keep_only_their_start() -> None:
    import base64
    import hashlib

    payload = base64.b64encode(b"".join(hashlib.sha256(bytes([i])).digest() for i in range(40))).decode()
    signature = "-----BEGIN PGP SIGNATURE-----\r\n\r\n" + "\n".join(
        payload[i : i + 64] for i in range(0, len(payload), 64)
    )
    prose = "A sentence of ordinary words, written for a reader. " * 8
    out = run({"signature": signature, "about": prose})
    assert payload[:64] not in out
    assert f"(+{len(signature) - 48} chars)" in out
    assert prose.strip() in out  # prose of the same length is left alone


def test_a_map_with_one_value_for_every_key_is_one_line_of_keys() -> None:
    users = {f"user{i}": True for i in range(30)}
    out = run({"users": users, "flags": {"a": True, "b": False}})
    assert "users{30} each true: user0, user1, " in out
    assert out.count("true") == 2  # once for the users, once for flag a
