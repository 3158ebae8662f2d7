"""generate_document (templates in bpmn/templates) and the Markdown → .docx conversion."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from docx import Document
from sqlalchemy import select

from engine.clock import FixedClock
from engine.store.tables import DocumentRecord
from handlers.documents import (
    DOC_TYPES,
    document_file_name,
    generate_document,
    markdown_to_docx,
    render_document,
)
from tests.handlers import NOW, handler_session, make_ctx

PROJECT = {
    "project_name": "Q3 旺季促销",
    "requirement_source": "business_department",
    "requesting_department": "销售部",
    "requirement_description": "销售部提出旺季促销需求，\n希望提升Q3销售额。",
    "a_owner": "sup",
    "b_owner": "sup2",
    "interview_summary": "访谈销售部：目标提升Q3销售额20%",
    "measurable_goal": "提升Q3销售额20%",
    "estimated_budget": 150000,
    "industry_report_summary": "行业报告显示预售转化率提升",
    "competitor_cases": "竞品采用直播预售",
    "user_survey_findings": "用户偏好满减",
    "project_goal": "Q3 销售额提升 20%",
    "budget": 120000,
    "cycle_start": "2026-04-01",
    "cycle_end": "2026-06-30",
    "core_strategy": "线上预售+线下体验",
    "plan_background": "旺季到来",
    "plan_goals": "销售额 +20%",
    "plan_strategy": "线上预售+线下体验",
    "plan_timeline": "4月预热；5月预售；6月体验店活动",
    "plan_resources": "供应商：某会展公司",
    "risk_plan": "暴雨：更换场地或转为直播",
    "division_of_labour": [
        {"work_item": "预售页面", "owner": "alice", "department": "技术部"},
        {"work_item": "物料设计", "owner": "designer", "department": "设计部"},
    ],
    "milestones": [
        {"milestone": "物料制作完成", "due_date": "2026-03-20", "owner": "designer"},
        {"milestone": "预售页面上线", "due_date": "2026-03-06", "owner": "alice"},
    ],
    "internal_review_decision": "approve",
    "internal_review_comments": "创意可行",
    "approver_group": "planning_manager",
    "overall_status": "at_risk",
    "milestones_done": "预售页面上线",
    "milestones_delayed": "物料制作延期 2 天",
    "weekly_risks": "周末可能暴雨",
    "next_week_plan": "完成物料制作",
    "metrics": [
        {"name": "销售额", "target": 1000000, "actual": 920000, "unit": "元"},
        {"name": "曝光量", "target": 500000, "actual": 600000, "unit": "次"},
    ],
    "highlights": "预售转化率高",
    "shortfalls": "线下物料延期",
    "process_improvements": "线下活动需提前一周确认天气",
    "case_title": "预售策略模板",
    "case_category": "promotion",
}
EVENT = {
    "event_name": "2026 新品发布会",
    "theme": "科技赋能,重构未来",
    "event_date": "2026-04-15T14:00",
    "venue": "上海国际会议中心",
    "venue_cost": 80000,
    "guest_confirmations": [
        {
            "guest_name": "李记者",
            "organization": "科技日报",
            "guest_type": "media",
            "rsvp_status": "confirmed",
        },
        {
            "guest_name": "王总",
            "organization": "星辰科技",
            "guest_type": "client",
            "rsvp_status": "declined",
        },
    ],
    "invited_guest_count": 2,
    "confirmed_guest_count": 1,
    "checked_in_count": 1,
    "invitation_methods": ["electronic", "paper"],
    "live_platforms": ["bilibili", "douyin"],
    "live_viewers": 52000,
    "posts_published": 12,
    "online_interactions": 3400,
    "hashtag": "#科技赋能#",
    "total_exposure": 1250000,
    "total_interactions": 48000,
    "guest_feedback": "嘉宾对产品演示评价很高",
    "media_archive_url": "https://pan.example.com/launch-2026",
    "teaser_poster_design_asset_url": "https://assets.example.com/teaser.png",
    "leads": [
        {
            "customer_name": "星辰科技",
            "contact_person": "周总",
            "contact": "138",
            "interest_level": "high",
            "lead_note": "要报价|样机",
        },
        {"customer_name": "远山贸易", "contact": "139", "interest_level": "low"},
    ],
}
BRAND = {
    "annual_theme": "科技潮玩计划",
    "brand_positioning": "年轻化科技品牌",
    "target_audience": "Z世代职场新人",
    "campaign_months": 12,
    "channels": ["小红书", "B站", "行业媒体"],
    "target_exposure": 100000,
    "target_interaction_rate": 3,
    "target_search_volume": 5000,
    "q1_theme": "产品体验官",
    "q1_plan": "招募体验官",
    "q2_theme": "跨界联名",
    "content_types": ["short_video", "interactive_h5"],
    "content_direction": "产品参数讲解",
    "month_index": 3,
    "report_period": "2026-06",
    "channel_metrics": [
        {"channel": "小红书", "exposure": 130000, "interaction_rate": 1.5, "search_volume": 5200},
        {"channel": "B站", "exposure": 160000, "interaction_rate": 4.8, "search_volume": 7000},
    ],
    "monthly_highlights": "B站联名视频播放破百万",
    "adjustment_actions": "改为使用场景内容",
    "new_content_direction": "使用场景",
    "adjusted_channels": ["小红书"],
}
ALL_DATA = {**PROJECT, **EVENT, **BRAND}


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_every_template_renders_with_no_data_and_shows_dashes(doc_type: str) -> None:
    title, md = render_document(doc_type, {}, now=NOW)
    assert title.startswith(f"《{DOC_TYPES[doc_type].name}》")
    assert md.startswith(f"# 《{DOC_TYPES[doc_type].name}》")
    assert "—" in md
    for bad in ("None", "Undefined", "{{", "{%"):
        assert bad not in md


@pytest.mark.parametrize("doc_type", sorted(DOC_TYPES))
def test_every_template_renders_with_full_data(doc_type: str) -> None:
    title, md = render_document(doc_type, ALL_DATA, now=NOW, sequence=1)
    assert "None" not in md and "Undefined" not in md
    markdown_to_docx(md, title)  # converts whatever the template produced


def test_project_charter() -> None:
    title, md = render_document("project_charter", PROJECT, now=NOW)
    assert title == "《项目立项书》— Q3 旺季促销"
    for expected in (
        "| 项目名称 | Q3 旺季促销 |",
        "| 需求来源 | 业务部门需求 |",
        "Q3 销售额提升 20%",
        "- 立项预算：¥120,000",
        "- 周期天数：91 天",
        "线上预售+线下体验",
        "访谈销售部",
        "- 竞品案例：竞品采用直播预售",
        "| 生成时间 | 2026-03-09 09:30 |",
    ):
        assert expected in md, expected
    assert "修订说明" not in md


def test_revised_charter_lists_the_return_reasons() -> None:
    data = {**PROJECT, "manager_charter_return_reason": "预算偏高，请压缩到 10 万以内"}
    title, md = render_document("project_charter", data, now=NOW, sequence=2)
    assert title == "《项目立项书》— Q3 旺季促销（第2版）"
    assert "## 七、修订说明" in md
    assert "- 策划部经理：预算偏高，请压缩到 10 万以内" in md
    assert "## 八、立项确认" in md


def test_execution_plan_tables() -> None:
    _, md = render_document("execution_plan", PROJECT, now=NOW)
    assert "## 七、分工表" in md and "## 八、时间节点表" in md
    assert "| 1 | 预售页面 | alice | 技术部 |" in md
    # the timetable is sorted by date
    assert md.index("| 1 | 预售页面上线 | 2026-03-06 | alice |") < md.index("物料制作完成")
    assert "| 内部评审（方案预审会） | 同意 | 创意可行 |" in md
    assert "| 预算审批层级 | 策划部经理 |" in md


def test_weekly_report_numbering_and_milestone_tracking() -> None:
    title, md = render_document("weekly_report", PROJECT, now=NOW, sequence=2)
    assert title == "《项目进度周报》— Q3 旺季促销 第2期（2026-03-09）"
    assert "| 报告周期 | 2026-03-03 至 2026-03-09 |" in md
    assert "| 整体状态 | 有风险 |" in md
    assert "物料制作延期 2 天" in md and "周末可能暴雨" in md and "完成物料制作" in md
    assert "| 预售页面上线 | 2026-03-06 | alice | 本周到期 |" in md
    assert "| 物料制作完成 | 2026-03-20 | designer | 未到期 |" in md
    _, quiet = render_document("weekly_report", {"milestones_done": "x"}, now=NOW)
    assert "本周无延期事项。" in quiet and "本周未发现新的风险。" in quiet


def test_retrospective_report() -> None:
    _, md = render_document("retrospective_report", PROJECT, now=NOW)
    # (92 + 100) / 2: each target counts at most 100 %; computed when not in the data
    assert "| 目标完成率 | 96%（达成 1/2 项） |" in md
    assert "| 销售额 | 1,000,000 | 920,000 | 元 | 92% | 92% | 未达成 |" in md
    assert "| 曝光量 | 500,000 | 600,000 | 次 | 120% | 100% | 达成 |" in md
    assert "**96%**（达成 1/2 项）" in md
    assert "- 未达成：销售额" in md
    assert "线下活动需提前一周确认天气" in md
    assert "- 案例类别：促销活动" in md
    given = {**PROJECT, "completion_result": {"completion_rate": 88.8, "metrics": []}}
    _, md = render_document("retrospective_report", given, now=NOW)
    assert "**88.8%**" in md  # the service result wins


def test_event_summary() -> None:
    title, md = render_document("event_summary", EVENT, now=NOW)
    assert title == "《活动总结》— 2026 新品发布会"
    for expected in (
        "| 活动时间 | 2026-04-15 14:00 |",
        "| 总曝光量 | 1,250,000 |",
        "| 直播平台 | B站、抖音 |",
        "| T-30 悬念预热海报 | https://assets.example.com/teaser.png | — |",
        "| 李记者 | 科技日报 | 媒体 | 确认出席 |",
        "嘉宾对产品演示评价很高",
        "共 2 条意向客户线索（高意向 1 条），将移交销售部跟进转化。",
        "| 1 | 星辰科技 | 周总 | 138 | 高 | 要报价\\|样机 |",
        "- 邀请方式：电子邀请函、纸质邀请函",
    ):
        assert expected in md, expected


def test_brand_effect_report() -> None:
    title, md = render_document("brand_effect_report", BRAND, now=NOW)
    assert title == "《品牌推广效果报告》— 科技潮玩计划 2026年第2季度 · 6月"
    for expected in (
        "| 推广进度 | 第 4 个月 / 共 12 个月 |",
        "| 本季度策略 | Q2 跨界联名 |",
        "| 小红书 | 130,000 | 1.5% ↓ | 5,200 | 未达标 |",
        "| B站 | 160,000 | 4.8% | 7,000 | 达标 |",
        "| 合计 / 平均 | 290,000 | 3.15% | 12,200 | 2 个渠道 |",
        "| 小红书 | 互动率 | 1.5% | 3% | 低 50% |",
        "- 小红书 · 互动率：调整内容方向（如从产品参数转向使用场景），增加互动玩法",
        "- 新内容方向：使用场景",
    ):
        assert expected in md, expected
    ok = {**BRAND, "channel_metrics": BRAND["channel_metrics"][1:]}
    _, md = render_document("brand_effect_report", ok, now=NOW)
    assert "各渠道指标均达到目标。" in md and "保持当前内容方向：产品参数讲解" in md


def test_table_cells_cannot_break_tables() -> None:
    data = {"project_name": "A|B\n第二行", "division_of_labour": [{"work_item": "x|y"}]}
    _, md = render_document("execution_plan", data, now=NOW)
    assert "| 项目名称 | A\\|B 第二行 |" in md
    assert "| 1 | x\\|y | — | — |" in md


def test_templates_are_sandboxed() -> None:
    # a value is data, never template code; and template code cannot reach Python internals
    _, md = render_document("project_charter", {"project_name": "{{ 7*7 }}"}, now=NOW)
    assert "{{ 7*7 }}" in md and "49" not in md


def test_generate_document_stores_a_record_and_numbers_weeks() -> None:
    clock = FixedClock(NOW)
    with handler_session() as session:
        ctx = make_ctx(session, PROJECT, clock=clock)
        first = generate_document({"doc_type": "weekly_report"}, ctx)
        clock.advance(days=7)
        second = generate_document(
            {"doc_type": "weekly_report"}, make_ctx(session, PROJECT, clock=clock)
        )
        other = generate_document(
            {"doc_type": "weekly_report"}, make_ctx(session, PROJECT, instance_id=8)
        )
        records = session.scalars(select(DocumentRecord).order_by(DocumentRecord.id)).all()
        assert session.in_transaction()  # flushed, not committed
    assert first == {
        "document_id": records[0].id,
        "doc_type": "weekly_report",
        "title": "《项目进度周报》— Q3 旺季促销 第1期（2026-03-09）",
        "file_name": "项目进度周报-Q3_旺季促销_第1期（2026-03-09）.md",
        "url": f"/instances/7/documents/{records[0].id}",
        "api_url": f"/api/v1/process-instances/7/documents/{records[0].id}",
        "sequence": 1,
    }
    assert second["sequence"] == 2 and "第2期（2026-03-16）" in second["title"]
    assert other["sequence"] == 1  # numbered per instance
    assert records[0].created_at == NOW
    assert records[1].created_at == NOW + timedelta(days=7)
    assert records[0].content_md.startswith("# 《项目进度周报》第 1 期")
    assert records[0].instance_id == 7 and records[0].doc_type == "weekly_report"
    assert ctx.notes == [{"note": f"已生成{first['title']}", "document_id": first["document_id"]}]
    json.dumps(first)


def test_unknown_document_type_fails_before_writing() -> None:
    with handler_session() as session:
        with pytest.raises(ValueError, match="unknown document type"):
            generate_document({"doc_type": "poem"}, make_ctx(session))
        assert session.scalars(select(DocumentRecord)).all() == []


def test_file_names() -> None:
    assert document_file_name("《项目立项书》— 新品/预售", "docx") == "项目立项书-新品预售.docx"
    assert document_file_name("《》", "md") == "document.md"


def test_docx_has_headings_paragraphs_lists_and_tables() -> None:
    title, md = render_document("execution_plan", PROJECT, now=NOW)
    document = Document(io.BytesIO(markdown_to_docx(md, title)))
    assert document.core_properties.title == title
    headings = [
        (p.style.name, p.text)
        for p in document.paragraphs
        if p.style.name.startswith(("Title", "Heading"))
    ]
    assert ("Title", "《项目执行方案》") in headings
    assert ("Heading 1", "七、分工表") in headings
    assert ("Heading 1", "八、时间节点表") in headings
    bullets = [p.text for p in document.paragraphs if p.style.name == "List Bullet"]
    assert "方案总预算：¥120,000" in bullets
    cells = [[c.text for c in row.cells] for t in document.tables for row in t.rows]
    assert ["序号", "工作事项", "负责人", "部门"] in cells
    assert ["1", "预售页面", "alice", "技术部"] in cells
    assert ["项目名称", "Q3 旺季促销"] in cells
    header = document.tables[0].rows[0].cells[0].paragraphs[0].runs[0]
    assert header.bold is True


def test_docx_inline_markup_escapes_and_odd_input() -> None:
    md = (
        "# 标题\n\n正文 **加粗** 与 `代码` 和 *斜体*\n第二行\n\n"
        "1. 第一项\n2. 第二项\n\n> 引用\n\n---\n\n"
        "| a | b |\n|---|---|\n| x\\|y | 多<br>行 |\n| 缺一列 |\n\n"
        "| 不是表格\n#没有空格\n"
    )
    document = Document(io.BytesIO(markdown_to_docx(md)))
    body = document.paragraphs[1]
    assert body.text == "正文 加粗 与 代码 和 斜体\n第二行"
    assert [r.text for r in body.runs if r.bold] == ["加粗"]
    assert [r.text for r in body.runs if r.italic] == ["斜体"]
    assert [p.text for p in document.paragraphs if p.style.name == "List Number"] == [
        "第一项",
        "第二项",
    ]
    assert any(p.style.name == "Quote" and p.text == "引用" for p in document.paragraphs)
    rows = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert rows == [["a", "b"], ["x|y", "多\n行"], ["缺一列", ""]]
    assert any(p.text == "| 不是表格\n#没有空格" for p in document.paragraphs)
    assert markdown_to_docx("")  # empty documents convert too


@pytest.mark.parametrize("when", ["9999-12-31T23:00:00+00:00", "0001-01-01T00:00:00+08:00"])
def test_a_time_at_the_ends_of_the_calendar_is_shown_as_written(when: str) -> None:
    """Shown in Beijing time these times fall outside the calendar (OverflowError, so the
    document step failed); like any text that is not a date, they are shown as given."""
    _, md = render_document("event_summary", {**EVENT, "event_date": when}, now=NOW)
    assert f"| 活动时间 | {when} |" in md
