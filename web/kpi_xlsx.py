"""考核数据 as an Excel workbook: 个人考核, 项目考核 and 奖项提名, one sheet each, headings in the
reader's language (the numbers are the API's: `engine.read.kpis`)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

PEOPLE = (
    ("name", "姓名", "Name"), ("department", "部门", "Department"),
    ("projects_led", "结项项目数（A角）", "Projects finished as A role"),
    ("completion_rate", "目标完成率（%）", "Target completion (%)"),
    ("targets_met", "达成指标数", "Targets met"), ("targets_total", "指标总数", "Targets"),
    ("tasks_due", "到期任务数", "Tasks due"), ("tasks_on_time", "按时完成数", "On time"),
    ("on_time_rate", "按时完成率（%）", "On-time rate (%)"),
    ("ideas_adopted", "创意采纳数", "Ideas adopted"),
    ("collaboration_rating", "协作满意度（1–5）", "Collaboration (1–5)"),
)
PROJECTS = (
    ("title", "项目", "Project"), ("process_name", "流程", "Process"),
    ("owner_name", "负责人（A角）", "Owner"),
    ("completion_rate", "目标完成率（%）", "Target completion (%)"),
    ("targets_met", "达成指标数", "Targets met"), ("targets_total", "指标总数", "Targets"),
    ("tasks_due", "到期任务数", "Tasks due"), ("tasks_on_time", "按时完成数", "On time"),
    ("on_time_rate", "按时完成率（%）", "On-time rate (%)"),
    ("ideas_adopted", "创意采纳数", "Ideas adopted"),
    ("collaboration_rating", "协作满意度（1–5）", "Collaboration (1–5)"),
)
NOMINATIONS = (
    ("award_name", "奖项", "Award"), ("period", "周期", "Period"),
    ("subject_name", "提名对象", "Nominee"), ("reason", "提名理由", "Reason"),
    ("nominated_by_name", "提名人", "Nominated by"), ("created_at", "提名时间", "When"),
)
SHEETS = {"people": ("个人考核", "People"), "projects": ("项目考核", "Projects"),
          "nominations": ("奖项提名", "Nominations")}
AWARD_NAMES = {"creative_star": ("月度创意之星", "Creative star of the month"),
               "project_benchmark": ("季度项目标杆奖", "Benchmark project of the quarter")}


def _sheet(book: Workbook, title: str, columns: tuple[tuple[str, str, str], ...],
           rows: list[dict[str, Any]], en: bool) -> None:
    sheet = book.create_sheet(title)
    sheet.append([c[2] if en else c[1] for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row.get(c[0]) for c in columns])
    for i, c in enumerate(columns, start=1):
        width = max([len(str(c[2] if en else c[1])) * (1 if en else 2)]
                    + [len(str(r.get(c[0]) or "")) * 2 for r in rows[:200]])
        sheet.column_dimensions[get_column_letter(i)].width = min(max(width, 8), 60)
    sheet.freeze_panes = "A2"


def kpi_workbook(found: dict[str, Any], nominations: list[dict[str, Any]], en: bool) -> bytes:
    book = Workbook()
    book.remove(book.active)
    lang = 1 if en else 0
    _sheet(book, SHEETS["people"][lang], PEOPLE, found["people"], en)
    _sheet(book, SHEETS["projects"][lang], PROJECTS, found["projects"], en)
    named = [{**n, "award_name": AWARD_NAMES.get(n["award"], (n["award"],) * 2)[lang]}
             for n in nominations]
    _sheet(book, SHEETS["nominations"][lang], NOMINATIONS, named, en)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(period: str, en: bool) -> str:
    return f"{'kpis' if en else '考核数据'}-{period}.xlsx"
