"""A diagram (BPMN DI) for models written without one, so the viewer and modeler can show them.

Hand-written or generated BPMN often has only the process semantics. bpmn-js refuses to display
a file without a `BPMNDiagram` ("no diagram to display"), so before a page hands such a file to
the browser it gets a simple left-to-right layout here: columns by longest path from the start
events (loops ignored), lanes as horizontal bands, boundary events on their host's bottom edge,
orthogonal connections. Files that already have a diagram are returned unchanged.

Pure function of the XML text; never touches the stored version (the modeler saves the layout
with the next deploy).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from engine.bpmn.specs import read_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"}
GATEWAYS = {
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
    "eventBasedGateway",
    "complexGateway",
}
ACTIVITIES = {
    "task",
    "userTask",
    "manualTask",
    "scriptTask",
    "serviceTask",
    "sendTask",
    "receiveTask",
    "businessRuleTask",
    "callActivity",
    "subProcess",
    "transaction",
}
SIZES = {"event": (36, 36), "gateway": (50, 50), "activity": (100, 80)}
COLUMN = 160  # horizontal distance between columns
ROW = 120  # height of one row inside a lane
LANE_HEADER = 30  # the lane's name band on the left
MARGIN = 40


@dataclass
class _Node:
    id: str
    kind: str  # event | gateway | activity | boundary
    lane: int = 0
    column: int = 0
    row: int = 0
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    host: str | None = None


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def has_diagram(xml: str) -> bool:
    root = read_xml(xml, "model.bpmn")
    return root.find(f"{{{BPMNDI}}}BPMNDiagram") is not None


@lru_cache(maxsize=64)
def with_diagram(xml: str) -> str:
    """`xml` itself when it has a diagram (or cannot be laid out), else `xml` plus a layout."""
    try:
        root = read_xml(xml, "model.bpmn")
    except Exception:
        return xml
    if root.find(f"{{{BPMNDI}}}BPMNDiagram") is not None:
        return xml
    if root.find(f"{{{BPMN}}}collaboration") is not None:
        return xml  # pools need participant shapes; not attempted
    process = next(
        (p for p in root.iter(f"{{{BPMN}}}process") if p.get("isExecutable") == "true"),
        root.find(f"{{{BPMN}}}process"),
    )
    if process is None:
        return xml
    nodes, flows, lanes = _collect(process)
    if not nodes:
        return xml
    bands = _layout(nodes, flows, lanes)
    root.append(_diagram(process, nodes, flows, lanes, bands))
    return etree.tostring(root, encoding="unicode", xml_declaration=False)


def _collect(
    process: etree._Element,
) -> tuple[dict[str, _Node], list[tuple[str, str, str]], list[tuple[str, list[str]]]]:
    nodes: dict[str, _Node] = {}
    flows: list[tuple[str, str, str]] = []
    for child in process:
        name = _local(child)
        ident = child.get("id")
        if not ident:
            continue
        if name in EVENTS:
            nodes[ident] = _Node(ident, "event")
        elif name in GATEWAYS:
            nodes[ident] = _Node(ident, "gateway")
        elif name in ACTIVITIES:
            nodes[ident] = _Node(ident, "activity")
        elif name == "boundaryEvent":
            nodes[ident] = _Node(ident, "boundary", host=child.get("attachedToRef"))
        elif name == "sequenceFlow":
            flows.append((ident, child.get("sourceRef", ""), child.get("targetRef", "")))
    lanes: list[tuple[str, list[str]]] = []
    for lane in process.iter(f"{{{BPMN}}}lane"):
        refs = [r.text.strip() for r in lane.findall(f"{{{BPMN}}}flowNodeRef") if r.text]
        if lane.find(f"{{{BPMN}}}childLaneSet") is None:
            lanes.append((lane.get("id", ""), refs))
    for index, (_, refs) in enumerate(lanes):
        for ref in refs:
            if ref in nodes:
                nodes[ref].lane = index
    flows = [f for f in flows if f[1] in nodes and f[2] in nodes]
    return nodes, flows, lanes


def _layout(
    nodes: dict[str, _Node], flows: list[tuple[str, str, str]], lanes: list[tuple[str, list[str]]]
) -> list[tuple[float, float]]:
    """Positions every node; returns each lane's (top, height)."""
    placed = [n for n in nodes.values() if n.kind != "boundary"]
    order = _columns(placed, _forward_edges(nodes, flows, placed))
    used = _rows(nodes, flows, placed, order)
    lane_rows = [
        max([used[(lane, c)] for (lane_, c) in used if lane_ == lane] or [1])
        for lane in range(max(len(lanes), 1))
    ]
    lane_top = [MARGIN]
    for rows in lane_rows:
        lane_top.append(lane_top[-1] + rows * ROW)
    left = MARGIN + (LANE_HEADER if lanes else 0) + 30
    for n in placed:
        w, h = SIZES[n.kind]
        cx = left + n.column * COLUMN + 50
        cy = lane_top[n.lane] + n.row * ROW + ROW / 2
        n.x, n.y, n.w, n.h = cx - w / 2, cy - h / 2, w, h
    _place_boundary_events(nodes)
    return [(lane_top[i], lane_rows[i] * ROW) for i in range(len(lanes))]


def _forward_edges(
    nodes: dict[str, _Node], flows: list[tuple[str, str, str]], placed: list[_Node]
) -> dict[str, list[str]]:
    """The flows between placed nodes without their back edges (loops), found by a depth-first
    walk from the start nodes."""

    # A boundary event's outgoing flows leave from its host's column.
    def anchor(node_id: str) -> str:
        node = nodes[node_id]
        return node.host if node.kind == "boundary" and node.host in nodes else node_id

    succ: dict[str, list[str]] = defaultdict(list)
    for _, src, dst in flows:
        succ[anchor(src)].append(dst)
    targets = {dst for _, _, dst in flows}
    starts = [n.id for n in placed if n.id not in targets] or [placed[0].id]
    forward: dict[str, list[str]] = defaultdict(list)
    state: dict[str, int] = {}

    def visit(start: str) -> None:
        stack = [(start, iter(succ[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                continue
            if state.get(child) == 1:
                continue  # back edge
            forward[node].append(child)
            if child not in state:
                state[child] = 1
                stack.append((child, iter(succ[child])))

    for s in starts:
        if s not in state:
            visit(s)
    for n in placed:
        if n.id not in state:
            visit(n.id)
    return forward


def _columns(placed: list[_Node], forward: dict[str, list[str]]) -> list[str]:
    """Sets each node's column to its longest path in the forward graph (Kahn's order); returns
    that order."""
    indegree: dict[str, int] = defaultdict(int)
    for children in forward.values():
        for child in children:
            indegree[child] += 1
    queue = [n.id for n in placed if indegree[n.id] == 0]
    column = {n: 0 for n in queue}
    order: list[str] = []
    while queue:
        node = queue.pop(0)
        order.append(node)
        for child in forward[node]:
            column[child] = max(column.get(child, 0), column[node] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                queue.append(child)
    for n in placed:
        n.column = column.get(n.id, 0)
    return order


def _rows(
    nodes: dict[str, _Node],
    flows: list[tuple[str, str, str]],
    placed: list[_Node],
    order: list[str],
) -> dict[tuple[int, int], int]:
    """Sets each node's row: per lane and column, in discovery order. Returns the rows used per
    (lane, column)."""
    used: dict[tuple[int, int], int] = defaultdict(int)
    rank = {node_id: i for i, node_id in enumerate(order)}
    # Targets of boundary events go below their host, so the connection does not cross it.
    below: dict[str, _Node] = {}
    for _, src, dst in flows:
        host = nodes.get(nodes[src].host or "") if nodes[src].kind == "boundary" else None
        if host is not None:
            below[dst] = host
    for n in sorted(placed, key=lambda n: (n.column, n.id in below, rank.get(n.id, 0))):
        slot = (n.lane, n.column)
        host = below.get(n.id)
        if host is not None and host.lane == n.lane:
            used[slot] = max(used[slot], host.row + 1)
        n.row = used[slot]
        used[slot] += 1
    return used


def _place_boundary_events(nodes: dict[str, _Node]) -> None:
    """Boundary events sit on their host's bottom edge, right to left (hosts placed already)."""
    attached: dict[str, int] = defaultdict(int)
    for n in nodes.values():
        if n.kind != "boundary":
            continue
        host = nodes.get(n.host or "")
        n.w = n.h = 36
        if host is None:
            n.x, n.y = MARGIN, MARGIN
            continue
        n.x = host.x + host.w - 28 - 40 * attached[host.id]
        n.y = host.y + host.h - 18
        attached[host.id] += 1


def _shape(
    parent: etree._Element, element_id: str, x: float, y: float, w: float, h: float, **attrs: str
) -> None:
    shape = etree.SubElement(
        parent, f"{{{BPMNDI}}}BPMNShape", id=f"{element_id}_di", bpmnElement=element_id, **attrs
    )
    etree.SubElement(shape, f"{{{DC}}}Bounds", x=_n(x), y=_n(y), width=_n(w), height=_n(h))


def _n(value: float) -> str:
    return str(round(value))


def _diagram(
    process: etree._Element,
    nodes: dict[str, _Node],
    flows: list[tuple[str, str, str]],
    lanes: list[tuple[str, list[str]]],
    bands: list[tuple[float, float]],
) -> etree._Element:
    diagram = etree.Element(
        f"{{{BPMNDI}}}BPMNDiagram",
        nsmap={"bpmndi": BPMNDI, "dc": DC, "di": DI},
        id="BPMNDiagram_generated",
    )
    plane = etree.SubElement(
        diagram, f"{{{BPMNDI}}}BPMNPlane", id="BPMNPlane_generated", bpmnElement=process.get("id")
    )
    right = max(n.x + n.w for n in nodes.values()) + 60
    bottom = max(n.y + n.h for n in nodes.values()) + 40
    for (lane_id, _), (top, height) in zip(lanes, bands, strict=True):
        _shape(plane, lane_id, MARGIN, top, right - MARGIN, height, isHorizontal="true")
    for n in nodes.values():
        if n.kind == "boundary":
            continue
        _shape(plane, n.id, n.x, n.y, n.w, n.h)
    for n in nodes.values():
        if n.kind == "boundary":
            _shape(plane, n.id, n.x, n.y, n.w, n.h)
    for flow_id, src, dst in flows:
        edge = etree.SubElement(
            plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{flow_id}_di", bpmnElement=flow_id
        )
        for x, y in _route(nodes[src], nodes[dst], bottom):
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=_n(x), y=_n(y))
    return diagram


def _route(a: _Node, b: _Node, bottom: float) -> list[tuple[float, float]]:
    if a.kind == "boundary":
        start = (a.x + a.w / 2, a.y + a.h)
        end = (b.x, b.y + b.h / 2)
        return [start, (start[0], end[1]), end]
    ay, by = a.y + a.h / 2, b.y + b.h / 2
    if b.x > a.x + a.w:
        sx, tx = a.x + a.w, b.x
        if abs(ay - by) < 1:
            return [(sx, ay), (tx, by)]
        mid = tx - 25
        return [(sx, ay), (mid, ay), (mid, by), (tx, by)]
    # A loop back: out of the source's right side, under everything else, into the target's
    # left side (the vertical legs run in the gaps between columns, not through shapes).
    low = bottom + 10
    out_x, in_x = a.x + a.w + 12, b.x - 12
    return [(a.x + a.w, ay), (out_x, ay), (out_x, low), (in_x, low), (in_x, by), (b.x, by)]
