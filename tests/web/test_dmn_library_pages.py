"""DMN libraries in the console's definitions list and in the API, with the pinned imports."""

from __future__ import annotations

import io

from tests.engine.dmn.test_dmn_libraries import IMPORTER, LIB_NS, library

from .conftest import AuthClient
from .test_pages import People, app, erp, people, text_of  # noqa: F401 - the page fixtures

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
