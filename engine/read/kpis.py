"""考核维度 (manual §5), per person and per project, for one period (a month ``2026-03``, a
quarter ``2026-Q1`` or a year ``2026``), for managers and process owners
(`engine.access.may_open(actor, "kpis")`). Sources: `engine.read.kpi_sources`.

- **目标完成率** — a project's retrospective rate (and targets met / total); a person's is the
  mean over the projects they own as A角 that finished in the period.
- **按时完成率** — of the tasks with a due date that fell in the period: done by the due time
  over done or overdue; per person (who did it, or who holds it) and per project.
- **创意贡献度** — ideas adopted: the rows of an `adopted_ideas` field (`idea`, `proposer` or
  `proposers`) that a step (the internal review) submitted; the same idea of the same person
  in one project counts once.
- **协作满意度** — the rows of a `collaboration_ratings` field (`department`: a group key or
  name, `rating` 1–5) of a step (the retrospective), the latest per project; per project the
  mean of its departments, per person the mean of the ratings their department(s) got in the
  projects they completed a step of.

Numbers a model does not record yet are ``None``/0 and ``sources`` says which are missing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from engine.access import may_open
from engine.errors import Forbidden, InvalidInput
from engine.read import kpi_sources as src
from engine.read.names import active_people, everyone, group_labels, process_names
from engine.time_range import check_year

if TYPE_CHECKING:
    from engine.people.accounts import Actor

PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")
IDEAS, RATINGS = "adopted_ideas", "collaboration_ratings"


@dataclass(frozen=True)
class Period:
    key: str
    kind: str  # month | quarter | year
    first: date
    after: date  # the first day after it

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return (datetime.combine(self.first, time(), tz), datetime.combine(self.after, time(), tz))

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "first_day": self.first.isoformat(),
                "last_day": date.fromordinal(self.after.toordinal() - 1).isoformat()}


def _month(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def parse_period(text: str | None, today: date, field: str = "query.period") -> Period:
    """``2026-03`` / ``2026-Q1`` / ``2026``; none: the current month. ``field`` names the
    input in the error (a query parameter, or ``period`` in a request body)."""
    text = (text or "").strip() or f"{today.year}-{today.month:02d}"
    found = PERIOD.match(text)
    if found is None:
        raise InvalidInput("考核周期应为 2026-03、2026-Q1 或 2026 (period: YYYY-MM, YYYY-Qn or "
                           "YYYY)", {"field": field})
    year, month, quarter = int(found[1]), found[2], found[3]
    check_year(year, field, ("考核周期", "period"))
    if month:
        return Period(text, "month", date(year, int(month), 1), _month(year, int(month) + 1))
    if quarter:
        first = 3 * (int(quarter) - 1) + 1
        return Period(text, "quarter", date(year, first, 1), _month(year, first + 3))
    return Period(text, "year", date(year, 1, 1), date(year + 1, 1, 1))


def require_kpis(actor: Actor) -> None:
    if not may_open(actor, "kpis"):
        raise Forbidden("只有管理人员和流程管理员可以查看考核数据 (managers and process owners)")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 1) if whole else None


def _mean(values: list[float], digits: int = 1) -> float | None:
    return round(sum(values) / len(values), digits) if values else None


def _people(row: Mapping[str, Any], key: str) -> list[str]:
    one, many = row.get(key[:-1] if key.endswith("s") else key), row.get(key)
    names = [one] if isinstance(one, str) else []
    names += [n for n in many if isinstance(n, str)] if isinstance(many, list) else []
    return [n for n in dict.fromkeys(n.strip() for n in names) if n]


def _ideas(session: Session, start: datetime, end: datetime) -> dict[int, set[tuple[str, str]]]:
    """instance -> {(proposer, idea)} adopted in the period."""
    out: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for sub in src.submitted_rows(session, IDEAS, start, end):
        for row in sub.rows:
            idea = str(row.get("idea") or "").strip()
            for who in _people(row, "proposers"):
                out[sub.instance_id].add((who, idea))
    return out


def _ratings(session: Session, start: datetime, end: datetime) -> dict[int, dict[str, float]]:
    """instance -> {group: rating} of its latest rating in the period."""
    groups = group_labels(session)
    names = {g: g for g in groups}
    for key, labels in groups.items():
        names.update({labels["zh"]: key, labels["en"]: key})
    out: dict[int, dict[str, float]] = {}
    for sub in src.submitted_rows(session, RATINGS, start, end):
        rated: dict[str, float] = {}
        for row in sub.rows:
            group = names.get(str(row.get("department") or "").strip())
            try:
                value = float(row.get("rating"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                continue
            if group and 1 <= value <= 5:
                rated[group] = value
        if rated:
            out[sub.instance_id] = rated  # the latest submission wins
    return out


@dataclass
class Figures:
    """Everything the period's sources say, gathered once for both views."""

    tasks: list[src.DueTask]
    finished: dict[int, Mapping[str, Any]]
    ideas: dict[int, set[tuple[str, str]]]
    ratings: dict[int, dict[str, float]]
    rows: dict[int, Any]  # instance rows

    @property
    def recorded(self) -> dict[str, bool]:
        return {"ideas": bool(self.ideas), "ratings": bool(self.ratings)}


def gather(session: Session, period: Period, tz: ZoneInfo, now: datetime) -> Figures:
    start, end = period.bounds(tz)
    tasks = src.due_tasks(session, start, end, now)
    finished = dict(src.finished_projects(session, start, end))
    ideas = _ideas(session, start, end)
    ratings = _ratings(session, start, end)
    ids = {t.instance_id for t in tasks} | set(finished) | set(ideas) | set(ratings)
    return Figures(tasks, finished, ideas, ratings, src.instances(session, ids))


def _owner(row: Any) -> str:
    data = row.data if isinstance(row.data, Mapping) else {}
    owner = data.get("a_owner")
    return owner if isinstance(owner, str) and owner else row.started_by


def _result(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return data.get("completion_result") or {}


def project_rows(session: Session, f: Figures, english: bool = False) -> list[dict[str, Any]]:
    names, processes = everyone(session), process_names(session)
    groups = {k: v["en" if english else "zh"] for k, v in group_labels(session).items()}
    out = []
    for iid, row in f.rows.items():
        tasks = [t for t in f.tasks if t.instance_id == iid]
        on_time = sum(t.on_time for t in tasks)
        result = _result(f.finished[iid]) if iid in f.finished else {}
        rated = f.ratings.get(iid, {})
        owner = _owner(row)
        out.append({
            "instance_id": iid, "title": row.title or f"#{iid}", "process": row.model_key,
            "process_name": processes.get(row.model_key, row.model_key),
            "status": row.status, "owner": owner, "owner_name": names.get(owner, owner),
            "completed_at": row.completed_at.isoformat() if row.completed_at else None,
            "completion_rate": result.get("completion_rate"),
            "targets_met": result.get("met_count"), "targets_total": result.get("total_count"),
            "tasks_due": len(tasks), "tasks_on_time": on_time,
            "on_time_rate": _rate(on_time, len(tasks)),
            "ideas_adopted": len(f.ideas.get(iid, ())),
            "collaboration_rating": _mean(list(rated.values()), 2),
            "collaboration": [{"department": g, "name": groups.get(g, g), "rating": v}
                              for g, v in sorted(rated.items())],
        })
    out.sort(key=lambda p: (p["completion_rate"] is None, -(p["completion_rate"] or 0),
                            p["title"]))
    return out


def people_rows(session: Session, f: Figures, english: bool = False) -> list[dict[str, Any]]:
    tally: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "rates": [], "met": 0, "total": 0, "due": 0, "on_time": 0, "ideas": 0, "ratings": []})
    for t in f.tasks:
        if t.person:
            tally[t.person]["due"] += 1
            tally[t.person]["on_time"] += int(t.on_time)
    for iid, data in f.finished.items():
        mine = tally[_owner(f.rows[iid])]
        mine["rates"].append(float(_result(data)["completion_rate"]))
        mine["met"] += int(_result(data).get("met_count") or 0)
        mine["total"] += int(_result(data).get("total_count") or 0)
    for ideas in f.ideas.values():
        for who, _ in ideas:
            tally[who]["ideas"] += 1
    directory = {p["username"]: p for p in active_people(session)}
    names = everyone(session)
    members = src.memberships(session)
    for iid, who in src.completers(session, set(f.ratings)):
        for group, value in f.ratings[iid].items():
            if group in members.get(who, ()):
                tally[who]["ratings"].append(value)
    out = [_person(who, t, directory.get(who), names, english) for who, t in tally.items()
           if who in names]
    out.sort(key=lambda p: (p["department"], p["name"]))
    return out


def _person(who: str, t: Mapping[str, Any], person: Mapping[str, Any] | None,
            names: Mapping[str, str], english: bool) -> dict[str, Any]:
    person = person or {}
    department = (english and person.get("department_en")) or person.get("department", "")
    return {
        "username": who, "name": names.get(who, who),
        "department": department,
        "projects_led": len(t["rates"]), "completion_rate": _mean(t["rates"]),
        "targets_met": t["met"], "targets_total": t["total"],
        "tasks_due": t["due"], "tasks_on_time": t["on_time"],
        "on_time_rate": _rate(t["on_time"], t["due"]),
        "ideas_adopted": t["ideas"],
        "collaboration_rating": _mean(t["ratings"], 2), "ratings": len(t["ratings"]),
    }


def kpis(
    session: Session, actor: Actor, period_text: str | None, tz: ZoneInfo, now: datetime,
    english: bool = False, field: str = "query.period",
) -> dict[str, Any]:
    """The period's numbers: ``people``, ``projects`` and which sources were ``recorded``."""
    require_kpis(actor)
    period = parse_period(period_text, now.astimezone(tz).date(), field)
    f = gather(session, period, tz, now)
    return {"period": period.as_dict(), "people": people_rows(session, f, english),
            "projects": project_rows(session, f, english), "recorded": f.recorded}
