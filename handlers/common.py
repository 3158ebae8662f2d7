"""Small helpers shared by the department's handlers: reading numbers and text from form data,
and the Chinese labels of the option values the forms store (the same labels the forms show)."""

from __future__ import annotations

import math
from typing import Any

DASH = "—"

# Option values → labels, as in bpmn/forms/*.form.
LABELS: dict[str, dict[str, str]] = {
    "requirement_source": {
        "strategy": "高层战略要求",
        "business_department": "业务部门需求",
        "market_trend": "市场趋势",
    },
    "decision": {
        "approve": "同意",
        "return": "退回修改",
        "reject": "驳回",
    },
    "overall_status": {"on_track": "正常", "at_risk": "有风险", "delayed": "延期"},
    "risk_level": {"low": "低", "medium": "中", "high": "高"},
    "response_action": {
        "change_venue": "更换场地",
        "switch_to_livestream": "转为直播",
        "reschedule": "调整排期",
        "add_resources": "追加资源",
        "other": "其他",
    },
    "guest_type": {"client": "客户", "media": "媒体", "kol": "行业KOL", "other": "其他"},
    "rsvp_status": {"confirmed": "确认出席", "declined": "婉拒", "no_response": "未回复"},
    "interest_level": {"high": "高", "medium": "中", "low": "低"},
    "invitation_methods": {"electronic": "电子邀请函", "paper": "纸质邀请函"},
    "live_platforms": {
        "video_account": "视频号",
        "douyin": "抖音",
        "bilibili": "B站",
        "other": "其他",
    },
    "incident_level": {"none": "无", "minor": "一般", "major": "重大"},
    "content_types": {
        "short_video": "短视频（产品演示）",
        "long_article": "长图文（品牌故事）",
        "interactive_h5": "互动H5（用户共创）",
    },
    "case_category": {
        "promotion": "促销活动",
        "event": "活动执行",
        "brand": "品牌传播",
        "channel": "渠道拓展",
        "other": "其他",
    },
    "group": {
        "planning_manager": "策划部经理",
        "planning_supervisor": "策划主管",
        "planning_specialist": "策划专员",
        "requester": "需求部门",
        "finance": "财务部",
        "legal": "法务部",
        "design": "设计部",
        "sales": "销售部",
        "product": "产品部",
        "tech": "技术部",
        "executive": "公司高层",
    },
    "yes_no": {"yes": "是", "no": "否"},
    "budget_request_status": {
        "draft": "未提交",
        "pending": "审批中",
        "approved": "已批准",
        "rejected": "已驳回",
    },
    "brand_metric": {
        "exposure": "曝光量",
        "interaction_rate": "互动率",
        "search_volume": "品牌搜索量",
    },
}


def label(kind: str, value: Any) -> str:
    """The Chinese label of an option value; unknown values are shown as given."""
    if value is None or value == "":
        return DASH
    return LABELS.get(kind, {}).get(str(value), str(value))


def to_number(value: Any) -> float | None:
    """A finite float from a form value (number or numeric string), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "").rstrip("%")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def clean_number(value: float | None) -> int | float | None:
    """Whole numbers as int (120000.0 → 120000) so JSON and documents read naturally."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def text(value: Any, limit: int = 2000) -> str:
    """Form text, stripped and bounded; None and non-strings become ''/str()."""
    if value is None:
        return ""
    return str(value).strip()[:limit]


def dict_rows(value: Any) -> list[dict[str, Any]]:
    """The rows of a dynamic list (anything that is not a dict is dropped)."""
    if not isinstance(value, list | tuple):
        return []
    return [row for row in value if isinstance(row, dict)]
