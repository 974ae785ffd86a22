"""DMN libraries in the console's definitions list and in the API, with the pinned imports."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from engine import Engine, library_id
from tests.engine.dmn.test_dmn_libraries import IMPORTER, LIB_NS, library

from .conftest import AuthClient
from .test_pages import People, app, engine, erp, people, text_of  # noqa: F401 - the page fixtures

DEPLOY = "/api/v1/deployments"


def test_the_console_lists_a_deployed_library_by_its_namespace(people: People) -> None:  # noqa: F811
    ana = people["ana"]
    response = ana.post("/admin/definitions",
                        {"files": [(io.BytesIO(library("0.1")), "loyalty.dmn")]},
                        content_type="multipart/form-data", follow_redirects=True)
    assert response.status_code == 200
    listing = text_of(ana.get("/admin/definitions"))
    assert "DMN libraries" in listing
    assert LIB_NS in listing and "loyalty.dmn" in listing


def test_the_api_lists_libraries_and_the_version_an_importer_uses(client: AuthClient) -> None:
    lib = client.post(DEPLOY, data={"files": [(io.BytesIO(library("0.1")), "loyalty.dmn")]},
                      content_type="multipart/form-data")
    assert lib.status_code == 201
    [deployed] = lib.get_json()["definitions"]
    assert (deployed["kind"], deployed["key"], deployed["version"]) == ("library", LIB_NS, 1)
    assert client.post(DEPLOY, data={"files": [(io.BytesIO(IMPORTER), "shop.dmn")]},
                       content_type="multipart/form-data").status_code == 201
    libraries = client.get("/api/v1/process-definitions?kind=library").get_json()["items"]
    assert [(d["key"], d["version"]) for d in libraries] == [(LIB_NS, 1)]
    decisions = client.get("/api/v1/process-definitions?kind=decision").get_json()["items"]
    [shop] = [d for d in decisions if d["key"] == "shop_discount"]
    assert shop["imports"][LIB_NS]["version"] == 1
    assert shop["imports"][LIB_NS]["key"] == LIB_NS


def _deploy(person: Any, name: str, content: bytes) -> None:
    response = person.post("/admin/definitions", {"files": [(io.BytesIO(content), name)]},
                           content_type="multipart/form-data")
    assert response.status_code == 302, text_of(response)


def _library_link(page: str) -> str:
    found = re.search(r'href="(/admin/libraries/[^"/?]+)"', page)
    assert found, "the definitions list links no library page"
    return found.group(1)


def test_a_library_page_shows_versions_what_it_defines_and_who_imports_it(
        people: People) -> None:  # noqa: F811
    ana = people["ana"]
    _deploy(ana, "loyalty.dmn", library("0.1"))
    _deploy(ana, "shop.dmn", IMPORTER)
    _deploy(ana, "loyalty.dmn", library("0.2"))
    url = _library_link(ana.get("/admin/definitions").text)
    assert url == f"/admin/libraries/{library_id(LIB_NS)}"
    page = ana.get(url)
    assert page.status_code == 200
    text = text_of(page)
    assert f"DMN library {LIB_NS}" in text and "version 2" in text
    assert "Discount business knowledge model orders" in text
    assert "tCustomer item definition" in text
    # the importer is pinned to version 1 and links to its decision page
    assert "Shop discount decision 1 1 (not the newest)" in text
    assert 'href="/admin/definitions/shop_discount"' in page.text
    old = text_of(ana.get(f"{url}?version=1"))
    assert "loyalty.dmn version 1" in old and "Roll back to version 1" in old
    download = ana.get(f"{url}/1/source")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="loyalty.dmn"'
    assert b"if orders &gt; 10 then 0.1 else 0" in download.data


def test_a_library_rolled_back_from_its_page_leaves_its_importers_pinned(
        people: People, engine: Engine) -> None:  # noqa: F811
    ana = people["ana"]
    _deploy(ana, "loyalty.dmn", library("0.1"))
    _deploy(ana, "loyalty.dmn", library("0.2"))
    _deploy(ana, "shop.dmn", IMPORTER)
    url = f"/admin/libraries/{library_id(LIB_NS)}"
    back = ana.post(f"{url}/1/rollback", follow_redirects=True)
    assert "Version 1 of the library is deployed again as version 3" in text_of(back)
    assert engine.repository.definition(LIB_NS).version == 3
    assert engine.repository.definition("shop_discount").imports[LIB_NS]["version"] == 2


def test_library_pages_are_for_analysts_and_admins_only(people: People) -> None:  # noqa: F811
    _deploy(people["ana"], "loyalty.dmn", library("0.1"))
    url = f"/admin/libraries/{library_id(LIB_NS)}"
    assert people["fiona"].get(url).status_code == 403
    assert people["fiona"].get(f"{url}/1/source").status_code == 403
    assert people["fiona"].post(f"{url}/1/rollback").status_code == 403
    assert people["admin"].get(url).status_code == 200


HOSTILE_NS = "http://t/../&lt;script&gt;alert(1)&lt;/script&gt;/%2F/.."


def test_a_namespace_cannot_break_out_of_the_library_url_or_inject_markup(
        people: People) -> None:  # noqa: F811
    ana = people["ana"]
    _deploy(ana, "odd.dmn", library("0.1").replace(LIB_NS.encode(), HOSTILE_NS.encode()))
    listing = ana.get("/admin/definitions").text
    assert "<script>alert(1)</script>" not in listing
    url = _library_link(listing)
    identifier = url.rsplit("/", 1)[1]
    assert not set(identifier) & set("/.%<>&")
    page = ana.get(url)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "http://t/../<script>alert(1)</script>/%2F/.." in text_of(page)
    assert ana.get(f"{url}/1/source").status_code == 200


@pytest.mark.parametrize("address", [
    "..%2F..%2Fdefinitions", "%2E%2E", "%3Cscript%3Ealert(1)%3C%2Fscript%3E", "!!!",
    library_id("shop_discount"),  # a decision, not a library
    library_id(LIB_NS) + "=",  # the same namespace under a second address
    "x" * 500,
])
def test_an_address_that_names_no_library_is_not_found(people: People,  # noqa: F811
                                                      address: str) -> None:
    ana = people["ana"]
    _deploy(ana, "loyalty.dmn", library("0.1"))
    _deploy(ana, "shop.dmn", IMPORTER)
    response = ana.get(f"/admin/libraries/{address}")
    assert response.status_code == 404
    assert "<script>alert(1)</script>" not in response.text
    assert ana.get(f"/admin/libraries/{address}/1/source").status_code == 404


def test_a_decision_page_links_the_library_version_it_imports(people: People) -> None:  # noqa: F811
    ana = people["ana"]
    _deploy(ana, "loyalty.dmn", library("0.1"))
    _deploy(ana, "shop.dmn", IMPORTER)
    _deploy(ana, "loyalty.dmn", library("0.2"))
    page = ana.get("/admin/definitions/shop_discount")
    assert f"Imports {LIB_NS} version 1" in text_of(page)
    assert f'href="/admin/libraries/{library_id(LIB_NS)}?version=1"' in page.text
