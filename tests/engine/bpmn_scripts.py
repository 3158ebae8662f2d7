"""The script environment the engine promises to BPMN scripts, played without planflow: a movable
clock (patched into SpiffWorkflow's timer module), the helper names scripts may use, and a script
engine whose ``call_service`` fakes the service handlers and records the calls."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions import timer as timer_module

# --------------------------------------------------------------------------------------------
# clock and the helper names promised to scripts
# --------------------------------------------------------------------------------------------
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
START = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)  # a Monday


class Clock:
    def __init__(self, value: datetime):
        self.value = value

    def advance(self, **kwargs) -> None:
        self.value += timedelta(**kwargs)


CLOCK = Clock(START)


class FakeDateTime(datetime):
    """Replaces ``datetime`` inside SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz=None):
        value = CLOCK.value
        return value.astimezone(tz) if tz is not None else value.replace(tzinfo=None)


def freeze_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """CLOCK back at START, and SpiffWorkflow's timers reading it (for a `clock` fixture)."""
    CLOCK.value = START
    monkeypatch.setattr(timer_module, "datetime", FakeDateTime)
    return CLOCK


def parse_datetime(value):
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day)
    else:
        result = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    if result.tzinfo is None:
        result = result.replace(tzinfo=SHANGHAI)
    return result


def parse_date(value):
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    return parse_datetime(value).astimezone(SHANGHAI).date()


def now():
    return CLOCK.value


def today():
    return CLOCK.value.astimezone(SHANGHAI).date()


def is_workday(value):
    return parse_date(value).weekday() < 5


def add_workdays(value, n):
    """As the engine's helper: a date for a date (or date-only text), else an aware Shanghai
    datetime with the same time of day."""
    current = parse_date(value)
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        current += timedelta(days=step)
        if is_workday(current):
            remaining -= 1
    if isinstance(value, date) and not isinstance(value, datetime):
        return current
    if isinstance(value, str) and len(value.strip()) == 10:
        return current
    local = parse_datetime(value).astimezone(SHANGHAI)
    return datetime.combine(current, local.timetz())


SCRIPT_GLOBALS = {
    "datetime": datetime,
    "date": date,
    "timedelta": timedelta,
    "timezone": timezone,
    "ZONE": SHANGHAI,  # the department's zone (PLANFLOW_TIMEZONE's default)
    "parse_datetime": parse_datetime,
    "parse_date": parse_date,
    "now": now,
    "today": today,
    "add_workdays": add_workdays,
    "is_workday": is_workday,
}
SAFE_BUILTINS = {
    "len",
    "min",
    "max",
    "sum",
    "sorted",
    "round",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "range",
    "enumerate",
    "zip",
    "abs",
    "any",
    "all",
    "None",
    "True",
    "False",
}
ENGINE_PROVIDED = {"started_by"}


# --------------------------------------------------------------------------------------------
# fake service handlers
# --------------------------------------------------------------------------------------------
DOC_TYPES = {
    "project_charter",
    "execution_plan",
    "weekly_report",
    "retrospective_report",
    "event_summary",
    "invitation",
    "brand_effect_report",
    "brand_health_report",
}


def _fake_generate_document(params, counter):
    doc_type = params["doc_type"]
    assert doc_type in DOC_TYPES, doc_type
    doc_id = f"doc-{next(counter)}"
    return {
        "document_id": doc_id,
        "doc_type": doc_type,
        "title": doc_type,
        "file_name": f"{doc_id}.docx",
        "url": f"/documents/{doc_id}",
    }


def _fake_completion_rate(params, _counter):
    rows = []
    for metric in params["metrics"]:
        rate = round(100.0 * metric["actual"] / metric["target"], 1) if metric["target"] else 100.0
        rows.append(
            {
                "name": metric["name"],
                "target": metric["target"],
                "actual": metric["actual"],
                "rate": rate,
            }
        )
    overall = round(sum(min(r["rate"], 100.0) for r in rows) / len(rows), 1) if rows else 0.0
    return {
        "completion_rate": overall,
        "metrics": rows,
        "met_count": sum(1 for r in rows if r["rate"] >= 100),
        "total_count": len(rows),
    }


def _fake_case_entry(params, counter):
    assert params["title"] and params["project_name"]
    return {"case_id": f"case-{next(counter)}", "title": params["title"]}


def _fake_select_approver(params, _counter):
    # no directory here: nobody is a member of any tier, so the decision table's tier stands
    assert params["group"] in params["tiers"] and isinstance(params["avoid"], dict)
    return params["group"]


def _fake_handover(params, counter):
    leads = params["leads"]
    assert isinstance(leads, list)
    return {
        "handed_over": len(leads),
        "lead_ids": [f"lead-{next(counter)}" for _ in leads],
        "assigned_group": "sales",
    }


def _fake_evaluate(params, _counter):
    targets = params["targets"]
    under = []
    for row in params["channel_metrics"]:
        for metric in ("exposure", "interaction_rate", "search_volume"):
            if row[metric] < targets[metric]:
                under.append(
                    {
                        "channel": row["channel"],
                        "metric": metric,
                        "actual": row[metric],
                        "target": targets[metric],
                    }
                )
    return {
        "needs_optimisation": bool(under),
        "underperforming": under,
        "evaluated_channels": len(params["channel_metrics"]),
    }


def _fake_record_month(params, _counter):
    history = params["history"]
    assert isinstance(history, list) and isinstance(params["evaluation"], dict)
    assert params["period"] and params["label"] and params["quarter"]
    return [*history, {"period": params["period"], "quarter": params["quarter"]}]


FAKE_SERVICES = {
    "generate_document": _fake_generate_document,
    "generate_instance_document": _fake_generate_document,
    "generate_project_document": _fake_generate_document,
    "compute_completion_rate": _fake_completion_rate,
    "add_case_library_entry": _fake_case_entry,
    "handover_leads": _fake_handover,
    "select_budget_approver": _fake_select_approver,
    "evaluate_brand_metrics": _fake_evaluate,
    "record_brand_month": _fake_record_month,
}


class FakeServiceEngine(PythonScriptEngine):
    def __init__(self):
        super().__init__(environment=TaskDataEnvironment(dict(SCRIPT_GLOBALS)))
        self.calls: list[tuple[str, dict, str]] = []
        self._counter = itertools.count(1)

    def call_service(self, task, operation_name=None, operation_params=None, **kwargs):
        params = {name: spec["value"] for name, spec in (operation_params or {}).items()}
        self.calls.append((operation_name, params, task.task_spec.bpmn_id))
        return json.dumps(FAKE_SERVICES[operation_name](params, self._counter))

    def docs(self):
        return [
            p["doc_type"]
            for op, p, _ in self.calls
            if op.startswith("generate_") and op.endswith("document")
        ]

