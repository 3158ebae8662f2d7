"""select_budget_approver: the decision table's tier, unless the requester or the A角 is in its
group — then the first tier above that neither of them is in."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.people.accounts import add_user, ensure_standard_groups, get_user
from handlers.project_budget import select_budget_approver
from tests.handlers import NOW, handler_session, make_ctx

TIERS = ["planning_supervisor", "planning_manager", "executive"]


def _staff(session: Session) -> None:
    ensure_standard_groups(session)
    for name, display, groups in (
        ("li", "李主管", ["planning_supervisor"]),
        ("zhao", "赵主管", ["planning_supervisor"]),
        ("wang", "王经理", ["planning_manager"]),
        ("qian", "钱总", ["executive", "planning_manager"]),
        ("zhang", "张专员", ["planning_specialist"]),
    ):
        add_user(session, name, "secret-pass", now=NOW, display_name=display, groups=groups,
                 password_hash_cost=2)


def _pick(session: Session, group: str, avoid: dict[str, Any]) -> tuple[str, list[Any]]:
    ctx = make_ctx(session)
    chosen = select_budget_approver({"group": group, "tiers": TIERS, "avoid": avoid}, ctx)
    return chosen, ctx.notes


def test_the_tier_stands_when_nobody_in_it_asked() -> None:
    with handler_session() as session:
        _staff(session)
        assert _pick(session, "planning_supervisor", {"A角": "zhang"}) == (
            "planning_supervisor", []
        )


def test_a_member_of_the_tier_sends_it_up() -> None:
    with handler_session() as session:
        _staff(session)
        chosen, notes = _pick(session, "planning_supervisor", {"申请人": "li", "A角": "zhang"})
        assert chosen == "planning_manager"
        assert notes[0]["note"] == "预算审批回避：李主管（申请人）属于策划主管，改由策划部经理审批"
        assert notes[0]["passed_over"] == ["planning_supervisor"]


def test_it_climbs_as_far_as_needed() -> None:
    """钱总 is in the managers' and the executives' groups: two tiers up, and at the top it
    stays there (nobody is above) and says so."""
    with handler_session() as session:
        _staff(session)
        chosen, notes = _pick(session, "planning_manager", {"申请人": "qian", "A角": "qian"})
        assert chosen == "executive"
        assert notes[0]["note"].startswith("预算审批回避：钱总（申请人、A角）属于策划部经理；钱总")
        assert notes[0]["note"].endswith("已无更高层级，仍由公司高层审批（须由本人以外的成员办理）")


def test_an_inactive_member_does_not_count_and_empty_people_are_ignored() -> None:
    with handler_session() as session:
        _staff(session)
        get_user(session, "li").is_active = False
        session.flush()
        assert _pick(session, "planning_supervisor", {"申请人": "li", "A角": ""})[0] == (
            "planning_supervisor"
        )


def test_a_group_off_the_ladder_is_kept() -> None:
    with handler_session() as session:
        _staff(session)
        assert _pick(session, "finance", {"A角": "li"})[0] == "finance"
