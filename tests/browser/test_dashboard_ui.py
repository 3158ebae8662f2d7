"""数据看板 in Chromium (issue 14): every table fits its box at 1280 and at 1024 pixels wide (no
sideways scrolling, no cell cut off, no chart label cut off), and a 催办 task the model opens
on a late step is a reminder, not a step: 进行中的流程（按环节） leaves it out."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from engine.clock import FixedClock
from engine.people.accounts import actor_for
from engine.store.db import transaction
from engine.store.tables import HumanTaskRow, InstanceRecord, ProcessVersionRecord
from engine.timing.timers import process_due
from engine.usecases import instances

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _start(ctx, who: str, key: str, data: dict) -> int:
    with transaction(ctx.sessions) as s:
        return instances.start(ctx, s, actor_for(s, who), key, data).id


def _busy_department(ctx) -> None:
    """Work in every process, a late design task with its 催办 open, overdue tasks of people and
    groups, finished projects with their KPI."""
    now = ctx.clock.now()
    for i, amount in enumerate((500, 80000, 1200)):
        data = {"title": f"华东区新品推广第 {i + 1} 期", "amount": amount}
        _start(ctx, "alice", "approval_demo", data)
    _start(ctx, "alice", "project_initiation", {
        "project_name": "门店数字化焕新与会员体系升级（二期）",
        "requirement_source": "market_trend", "requesting_department": "销售部",
        "requirement_description": "竞品推出直播预售，需要跟进", "a_owner": "sup", "b_owner": "mgr",
    })
    event_date = (now + timedelta(days=10)).astimezone(SHANGHAI).strftime("%Y-%m-%dT14:00")
    launch = _start(ctx, "sup", "product_launch", {
        "event_name": "2026 秋季旗舰新品全球发布会暨渠道大会", "theme": "科技赋能,重构未来",
        "event_date": event_date, "venue": "上海国际会议中心",
    })
    # The teaser poster is not delivered within 24 h: the supervisors get a 催办 task.
    process_due(dataclasses.replace(ctx, clock=FixedClock(now + timedelta(hours=25))))
    with transaction(ctx.sessions) as s:
        open_names = set(s.scalars(select(HumanTaskRow.name).where(
            HumanTaskRow.instance_id == launch, HumanTaskRow.status == "open")))
        assert {"设计悬念预热海报", "催办：悬念预热海报"} <= open_names, open_names
        s.execute(update(HumanTaskRow).where(HumanTaskRow.status == "open")
                  .values(due_at=now - timedelta(hours=5)))
        s.execute(update(HumanTaskRow).where(HumanTaskRow.name == "提交说明")
                  .values(assignee="alice"))
        version = s.scalar(select(ProcessVersionRecord).where(
            ProcessVersionRecord.model_key == "project_initiation"))
        for i, (name, rate) in enumerate((("智慧门店升级暨全渠道会员体系建设项目", 92.5),
                                          ("夏季新品发布", 78.0), ("品牌焕新计划", 101.2))):
            at = now - timedelta(days=3 * i + 1)
            s.add(InstanceRecord(
                model_key="project_initiation", version_id=version.id, version_number=1,
                title=name, status="completed", started_by="mgr", created_at=at,
                updated_at=at, completed_at=at, state="{}", suspended=False,
                data={"project_name": name, "completion_result": {"completion_rate": rate}},
            ))


FITS = """() => {
  const out = [];
  for (const card of document.querySelectorAll('main section.card')) {
    const box = card.getBoundingClientRect();
    for (const wrap of card.querySelectorAll('.pf-table-wrap')) {
      if (wrap.scrollWidth > wrap.clientWidth + 1)
        out.push(`${card.id || card.querySelector('h2').textContent}: table scrolls sideways`);
    }
    for (const el of card.querySelectorAll('table, canvas')) {
      const r = el.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1)
        out.push(`${card.querySelector('h2').textContent}: ${el.tagName} outside its box`);
    }
    for (const cell of card.querySelectorAll('th, td')) {
      if (cell.scrollWidth > cell.clientWidth + 1)
        out.push(`${card.querySelector('h2').textContent}: cell cut off: ${cell.textContent}`);
    }
  }
  // Chart.js cuts a y-axis label it has no room for, and skips labels when crowded: each
  // bar's label must be drawn, whole.
  for (const [id, chart] of Object.entries(window.pfCharts)) {
    const axis = chart.scales.y;
    if (!axis || chart.options.indexAxis !== 'y') continue;
    if (axis.left < -0.5) out.push(`${id}: labels start left of the canvas`);
    if (axis.ticks.length !== chart.data.labels.length)
      out.push(`${id}: ${chart.data.labels.length - axis.ticks.length} bar labels skipped`);
  }
  return out;
}"""


def test_dashboard_tables_fit_and_reminders_are_not_steps(page, live_server, screenshot):
    _busy_department(live_server.ctx)
    live_server.login(page, "mgr")
    for width in (1280, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/dashboard")
        page.wait_for_function("window.__dashboardReady === true")
        assert page.evaluate(FITS) == [], width
        screenshot(page, f"dashboard_{width}")

    stages = page.locator("#h-stage + .pf-chart-row table").inner_text()
    assert "设计悬念预热海报" in stages and "催办" not in stages, stages
    labels = page.evaluate("pfCharts['chart-stage'].data.labels.flat()")
    assert "设计悬念预热海报" in labels and not [x for x in labels if "催办" in x], labels
