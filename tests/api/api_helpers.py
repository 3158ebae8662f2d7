"""Shared by the JSON API tests (tests/api/test_api.py, test_schemas.py,
test_task_onlookers.py): the `deployed` fixture that uploads every test model as the owner, and
`start`, which starts an approval_demo instance. A test module that uses the fixture imports
`deployed_fixture`."""

from __future__ import annotations

import io

import pytest

from tests.conftest import MODELS


@pytest.fixture(name="deployed")
def deployed_fixture(client, token_for):
    files = [(io.BytesIO(p.read_bytes()), p.name) for p in sorted(MODELS.iterdir())]
    r = client.post(
        "/api/v1/process-models",
        data={"files": files},
        headers=token_for("owner"),
        content_type="multipart/form-data",
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def start(client, headers, data=None):
    return client.post(
        "/api/v1/process-instances",
        headers=headers,
        json={"process": "approval_demo", "data": data or {"title": "Q3 促销", "amount": 8000}},
    )
