"""Where the BPMN/DMN/form data of ``bpmn/`` lives and how the tests read it (shared by the static
checks and the end-to-end harness)."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
FORMS_DIR = BPMN_DIR / "forms"
PROCESS_KEYS = ("project_initiation", "product_launch", "brand_promotion")
DMN_FILE = BPMN_DIR / "budget_approval.dmn"

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/",
}

# form-js component types that hold a value (the others: text and dynamic lists)
INPUT_TYPES = {
    "textfield",
    "textarea",
    "number",
    "select",
    "radio",
    "checkbox",
    "checklist",
    "taglist",
    "datetime",
}


def load_xml(key: str):
    return etree.parse(str(BPMN_DIR / f"{key}.bpmn"))


def load_form(name: str) -> dict:
    return json.loads((FORMS_DIR / name).read_text(encoding="utf-8"))
