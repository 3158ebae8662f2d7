"""The three instances `planflow demo` (web/demo.py) plays, each to a point worth looking at.

* 项目策划全流程: planned and approved 20 days ago, in execution for 15 days — a risk was handled,
  the first 《项目进度周报》 is filed and the second one is waiting for 李主管.
* 新品发布会: 25 days before the event — the T-30 teaser poster is open for 设计部 (its 24 h
  SLA runs), venue and guest tasks are open for the specialists, T-15/T-3 are still ahead.
* 品牌推广: in its monthly loop — month 1 was under target on 小红书 (report + content
  adjustment done), month 2's metrics are waiting for the specialists.

History is written with a clock set back in time (`DemoRun.at`, so timestamps and documents read
like a real project); the last step of each instance runs at the real "now" so its timers are
current.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from web.demo_reports import FINISHED_TITLE, finished_project

if TYPE_CHECKING:
    from web.demo_run import DemoRun

__all__ = ["BRAND_TITLE", "LAUNCH_TITLE", "PROJECT_TITLE", "SCENARIOS"]

PROJECT_TITLE = "Q3 旺季促销推广"
LAUNCH_TITLE = "2026 新品发布会"
BRAND_TITLE = "科技潮玩计划·年度品牌推广"


def _project(demo: DemoRun) -> int:
    begin = demo.now - timedelta(days=20)
    iid = _project_research_and_charter(demo, begin)
    _project_plan_and_reviews(demo, iid, begin)
    _project_execution(demo, iid, begin + timedelta(days=5))
    return iid


def _project_research_and_charter(demo: DemoRun, begin: datetime) -> int:
    """Days 0–2: the requirement, both researches, the charter and its two confirmations."""
    demo.at(begin)
    iid = demo.start(
        "zhang",
        "project_initiation",
        {
            "title": PROJECT_TITLE,
            "project_name": PROJECT_TITLE,
            "requirement_source": "business_department",
            "requesting_department": "销售部",
            "requirement_description": "销售部提出旺季促销需求：借助“线上预售+线下体验”"
            "提升 Q3 销售额。",
            "initial_goal": "提升Q3销售额20%",
            "a_owner": "li",
            "b_owner": "zhao",
        },
    )
    demo.do(
        "zhang",
        iid,
        "Task_internal_research",
        {
            "interview_summary": "访谈销售部：目标为 Q3 销售额提升 20%，"
            "预算约 15 万，可投入 3 人。",
            "measurable_goal": "提升Q3销售额20%",
            "estimated_budget": 150000,
            "available_people": "策划部 3 人，销售部 2 人配合",
        },
    )
    demo.do(
        "chen",
        iid,
        "Task_external_research",
        {
            "industry_report_summary": "行业报告：直播预售的转化率明显高于传统促销。",
            "competitor_cases": "竞品 A 采用“直播预售+门店体验”模式，首周销量翻倍。",
            "user_survey_findings": "问卷 1,200 份：用户最偏好满减与限量赠品。",
        },
    )
    demo.at(begin + timedelta(days=1))
    charter = {
        "project_goal": "Q3 销售额提升 20%，新增会员 5,000 人",
        "budget": 120000,
        "cycle_start": (begin + timedelta(days=5)).astimezone(demo.tz).date().isoformat(),
        "cycle_end": (begin + timedelta(days=95)).astimezone(demo.tz).date().isoformat(),
        "core_strategy": "线上预售+线下体验：小程序预售锁客，体验店活动转化",
    }
    demo.do("li", iid, "Task_charter_draft", charter)
    demo.at(begin + timedelta(days=2))
    demo.do("wang", iid, "Task_manager_confirm", {"manager_charter_decision": "approve"})
    demo.do("liu", iid, "Task_requester_confirm", {"requester_charter_decision": "approve"})
    return iid


def _project_plan_and_reviews(demo: DemoRun, iid: int, begin: datetime) -> None:
    """Days 3–5: the execution plan, its four reviews and the budget approval."""
    demo.at(begin + timedelta(days=3))
    start_day = (begin + timedelta(days=5)).astimezone(demo.tz).date()
    demo.do(
        "li",
        iid,
        "Task_plan_design",
        {
            "plan_background": "旺季将至，竞品已推出直播预售，销售部希望抢先布局。",
            "plan_goals": "Q3 销售额提升 20%；预售订单 3,000 单；新增会员 5,000 人",
            "plan_strategy": "线上预售（小程序 + 直播）+ 线下体验店活动",
            "plan_timeline": "第1-2周 预热；第3-6周 预售；第7-10周 体验店活动；第11-13周 复盘",
            "plan_resources": "会展供应商 1 家；预算分配：线上 60%，线下 40%",
            "risk_plan": "活动日暴雨：改用室内场地或转为直播；系统故障：技术部紧急支持",
            "budget": 120000,
            "division_of_labour": [
                {"work_item": "预售页面开发", "owner": "feng", "department": "技术部"},
                {"work_item": "物料设计", "owner": "wu", "department": "设计部"},
                {"work_item": "直播策划", "owner": "zhang", "department": "策划部"},
            ],
            "milestones": [
                {
                    "milestone": "预售页面上线",
                    "due_date": (start_day + timedelta(days=7)).isoformat(),
                    "owner": "feng",
                },
                {
                    "milestone": "物料制作完成",
                    "due_date": (start_day + timedelta(days=14)).isoformat(),
                    "owner": "wu",
                },
                {
                    "milestone": "体验店活动",
                    "due_date": (start_day + timedelta(days=45)).isoformat(),
                    "owner": "li",
                },
            ],
        },
    )
    demo.at(begin + timedelta(days=4))
    demo.do(
        "wang",
        iid,
        "Task_internal_review",
        {
            "internal_review_comments": "创意可行，直播环节需准备备用主播",
            "internal_review_decision": "approve",
        },
    )
    demo.do("liu", iid, "Task_requester_review", {"requester_review_decision": "approve"})
    demo.do(
        "zhou",
        iid,
        "Task_finance_review",
        {"finance_review_decision": "approve", "finance_budget_checked": True},
    )
    demo.do(
        "sun",
        iid,
        "Task_legal_review",
        {"legal_review_decision": "approve", "legal_contract_checked": True},
    )
    demo.at(begin + timedelta(days=5))
    demo.do("wang", iid, "Task_budget_approval", {"budget_approval_decision": "approve"})


def _project_execution(demo: DemoRun, iid: int, execution: datetime) -> None:
    """From day 5: a risk raised and handled, week 1's report filed, week 2's one due."""
    demo.at(execution + timedelta(days=3))
    demo.message(
        "li",
        iid,
        "raise_risk",
        {
            "risk_description": "天气预报显示体验店活动当天有暴雨",
            "risk_level": "high",
            "raised_by": "li",
        },
    )
    demo.do(
        "wang",
        iid,
        "Task_risk_response",
        {
            "risk_description": "天气预报显示体验店活动当天有暴雨",
            "risk_level": "high",
            "response_action": "switch_to_livestream",
            "response_plan": "启动应急预案：室外环节改为直播，体验店内保留签到与体验区",
            "tech_support_needed": "no",
        },
    )
    demo.at(execution + timedelta(days=7, minutes=5))
    demo.tick(iid)
    demo.at(execution + timedelta(days=7, hours=6))
    demo.do(
        "li",
        iid,
        "Task_weekly_report",
        {
            "overall_status": "on_track",
            "milestones_done": "预售页面上线；直播脚本定稿",
            "milestones_delayed": "",
            "weekly_risks": "活动日可能暴雨（已启动预案）",
            "next_week_plan": "完成物料制作；预售首场直播",
        },
    )
    demo.tick(iid, real=True)  # week 2's report is due by now


def _launch(demo: DemoRun) -> int:
    event_day = (demo.now + timedelta(days=25)).astimezone(demo.tz).date()
    iid = demo.start(
        "li",
        "product_launch",
        {
            "title": LAUNCH_TITLE,
            "event_name": LAUNCH_TITLE,
            "theme": "科技赋能,重构未来",
            "event_date": f"{event_day.isoformat()}T14:00",
            "venue": "上海国际会议中心",
        },
    )
    demo.do(
        "zhang",
        iid,
        "Task_guest_list",
        {
            "guests": [
                {
                    "guest_name": "李记者",
                    "organization": "科技日报",
                    "guest_type": "media",
                    "contact": "li@example.com",
                },
                {
                    "guest_name": "王总",
                    "organization": "星辰科技",
                    "guest_type": "client",
                    "contact": "13800000001",
                },
                {
                    "guest_name": "科技博主小周",
                    "organization": "",
                    "guest_type": "kol",
                    "contact": "微博 @小周评测",
                },
            ],
            "invitation_methods": ["electronic", "paper"],
        },
    )
    return iid


def _brand(demo: DemoRun) -> int:
    today = demo.now.astimezone(demo.tz).date()
    month0 = (today.year * 12 + today.month - 1) - 3
    campaign_start = date(month0 // 12, month0 % 12 + 1, 1)
    iid = _brand_strategy(demo, campaign_start)
    _brand_first_month(demo, iid, campaign_start)
    return iid


def _brand_strategy(demo: DemoRun, campaign_start: date) -> int:
    """The campaign's first day: the year's quarterly strategy, approved, and the content plan."""
    demo.at(demo.local(campaign_start, 10))
    iid = demo.start(
        "li",
        "brand_promotion",
        {
            "title": BRAND_TITLE,
            "brand_positioning": "年轻化科技品牌",
            "target_audience": "Z世代职场新人",
            "annual_theme": "科技潮玩计划",
            "campaign_start": campaign_start.isoformat(),
            "campaign_months": 12,
            "channels": ["小红书", "B站", "行业媒体"],
            "target_exposure": 100000,
            "target_interaction_rate": 3,
            "target_search_volume": 5000,
        },
    )
    demo.do(
        "li",
        iid,
        "Task_quarterly_strategy",
        {
            "q1_theme": "产品体验官",
            "q1_plan": "招募 100 位产品体验官，产出真实测评内容",
            "q2_theme": "跨界联名",
            "q2_plan": "与潮玩品牌推出联名款",
            "q3_theme": "线下快闪",
            "q3_plan": "上海、成都、深圳三城快闪店",
            "q4_theme": "年度盛典",
            "q4_plan": "年度用户盛典与直播",
        },
    )
    demo.do("wang", iid, "Task_strategy_approval", {"strategy_decision": "approve"})
    demo.do(
        "zhang",
        iid,
        "Task_content_plan",
        {
            "content_types": ["short_video", "long_article", "interactive_h5"],
            "content_direction": "产品参数与性能讲解",
            "placement_schedule": [
                {"channel": "小红书", "content_type": "种草短视频", "frequency": "每周 3 条"},
                {"channel": "B站", "content_type": "产品测评视频", "frequency": "每周 1 条"},
                {"channel": "行业媒体", "content_type": "品牌故事长图文", "frequency": "每月 2 篇"},
            ],
        },
    )
    return iid


def _brand_first_month(demo: DemoRun, iid: int, campaign_start: date) -> None:
    """Month 1's metrics (小红书 under target) and the content adjustment; month 2's are due."""
    month1 = (campaign_start.year * 12 + campaign_start.month - 1) + 1
    first_due = demo.local(date(month1 // 12, month1 % 12 + 1, 1), 11)
    demo.at(first_due)
    demo.tick(iid)
    demo.do(
        "chen",
        iid,
        "Task_monthly_metrics",
        {
            "channel_metrics": [
                {
                    "channel": "小红书",
                    "exposure": 128000,
                    "interaction_rate": 1.6,
                    "search_volume": 5100,
                },
                {
                    "channel": "B站",
                    "exposure": 156000,
                    "interaction_rate": 4.6,
                    "search_volume": 6800,
                },
                {
                    "channel": "行业媒体",
                    "exposure": 104000,
                    "interaction_rate": 3.1,
                    "search_volume": 5200,
                },
            ],
            "monthly_highlights": "B站测评视频播放量破 50 万",
        },
    )
    demo.at(first_due + timedelta(days=1))
    demo.do(
        "li",
        iid,
        "Task_adjust_content",
        {
            "adjusted_channels": ["小红书"],
            "new_content_direction": "从产品参数转向职场使用场景",
            "adjustment_actions": "小红书改做“通勤/会议”场景短视频，增加评论抽奖互动",
        },
    )
    demo.tick(iid, real=True)  # month 2's report is due by now
    # the quarter has ended: the brand owner's health check gives the 《品牌健康度报告》
    demo.do(
        "li",
        iid,
        "Task_brand_health_check",
        {
            "brand_awareness": 38,
            "brand_reputation": 82,
            "health_data_source": "季度用户调研（样本 1,200 人）",
            "health_rating": "watch",
            "health_findings": "B站口碑好，小红书互动偏低；知名度仍低于竞品",
            "health_actions": "下季度加大小红书场景化内容投放",
        },
    )
    # a new quarter opens: its strategy revisited (Q1 产品体验官, made concrete), then month 2
    demo.do(
        "li",
        iid,
        "Task_quarter_review",
        {
            "quarter_theme": "产品体验官",
            "quarter_plan": "招募 100 位产品体验官，产出真实职场场景测评；小红书为主阵地",
            "quarter_review_note": "沿用年度策略，按健康度检查加强小红书",
        },
    )
    demo.tick(iid, real=True)  # month 2's report


# (title, model key, how to play it): load_demo skips one whose instance already exists.
SCENARIOS: tuple[tuple[str, str, Callable[[DemoRun], int]], ...] = (
    (PROJECT_TITLE, "project_initiation", _project),
    (LAUNCH_TITLE, "product_launch", _launch),
    (BRAND_TITLE, "brand_promotion", _brand),
    (FINISHED_TITLE, "project_initiation", finished_project),  # 案例库, 考核数据
)
