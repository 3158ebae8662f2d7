"""The instance page's diagram, sent apart from the page (`GET /instances/<id>/diagram.bpmn`):
the page carries only where to fetch it, the diagram answers with an ETag and a 304 when the
browser already has it, and whoever may not open the instance may not fetch its diagram."""

from __future__ import annotations

from lxml import etree

from tests.pages import login
from tests.web.manage_helpers import (
    diagram,
    env_fixture,  # noqa: F401  (the env fixture)
    start,
    text,
)

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"


def test_the_page_points_at_the_diagram_instead_of_carrying_it(client, env):
    iid = start(env, "alice")
    login(client, "alice")
    page = text(client.get(f"/instances/{iid}"))
    src = diagram(page)["src"]
    assert src == f"/instances/{iid}/diagram.bpmn"
    assert "bpmn:definitions" not in page and "BPMNShape" not in page

    r = client.get(src)
    assert r.status_code == 200
    assert r.mimetype == "application/xml"
    root = etree.fromstring(r.get_data())
    # the fixture has no DI: laid out for the viewer, every task drawn
    shapes = {s.get("bpmnElement") for s in root.iter(f"{{{BPMNDI}}}BPMNShape")}
    assert {"submit", "review"} <= shapes
    assert r.headers["Cache-Control"] in ("private, no-cache", "no-cache, private")
    assert r.headers["ETag"]


def test_a_diagram_the_browser_has_is_not_sent_again(client, env):
    iid = start(env, "alice")
    login(client, "alice")
    first = client.get(f"/instances/{iid}/diagram.bpmn")
    tag = first.headers["ETag"]
    again = client.get(f"/instances/{iid}/diagram.bpmn", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b""
    # another instance of the same version: the same diagram, the same tag
    other = start(env, "alice", "另一个")
    assert client.get(f"/instances/{other}/diagram.bpmn").headers["ETag"] == tag
    stale = client.get(f"/instances/{iid}/diagram.bpmn", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200 and stale.get_data() == first.get_data()


def test_the_diagram_follows_the_page_access_rule(client, env):
    iid = start(env, "alice")
    path = f"/instances/{iid}/diagram.bpmn"
    anonymous = client.get(path)
    assert anonymous.status_code in (302, 303) and "/login" in anonymous.headers["Location"]
    login(client, "fin")  # finance: neither started it nor offered a task
    assert client.get(path).status_code == 404
    assert client.get(f"/instances/{iid}").status_code == 404
    login(client, "bob")  # specialist: the submit task is offered to his group
    assert client.get(path).status_code == 200
    login(client, "alice")
    assert client.get("/instances/999999/diagram.bpmn").status_code == 404
