"""A DMN file with an unavailable decision, in the console's definition and upload pages."""

from __future__ import annotations

import io

from tests.engine.dmn.test_deploy_decisions import BROKEN

from .test_pages import People, app, erp, people, text_of  # noqa: F401 - the page fixtures


def test_the_console_shows_which_decision_is_unavailable_and_why(people: People) -> None:  # noqa: F811
    ana = people["ana"]
    response = ana.post("/admin/definitions", {"files": [(io.BytesIO(BROKEN), "rules.dmn")]},
                        content_type="multipart/form-data", follow_redirects=True)
    text = text_of(response)
    assert "Deployed fee version 1." in text
    assert "decision 'Risk' is unavailable" in text
    listing = text_of(ana.get("/admin/definitions"))
    assert "unavailable: decision 'Risk' rule 1, input 'Score' (column 1)" in listing
    page = text_of(ana.get("/admin/definitions/risk"))
    assert "This version of the decision is unavailable:" in page
    tried = ana.post("/admin/decisions/risk/evaluate", {"in-score": "70"})
    assert tried.status_code == 422 and "cannot be evaluated" in text_of(tried)
