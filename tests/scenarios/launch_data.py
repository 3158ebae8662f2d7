"""Shared by the 活动执行流程（新品发布会） scenarios (tests/scenarios/test_product_launch.py and
test_launch_*.py): the users who may see a task, the planning specialists and supervisors, and
the guests the invitations go to."""

from __future__ import annotations

EVERYONE = ["alice", "bob", "mgr", "sup", "sup2", "req", "fin", "law", "des", "sales1", "tec"]
SPECIALISTS = ["alice", "bob"]
SUPERVISORS = ["sup", "sup2"]

GUESTS = [
    {
        "guest_name": "李记者",
        "organization": "科技日报",
        "guest_type": "media",
        "contact": "li@news.cn",
    },
    {"guest_name": "王总", "organization": "星辰科技", "guest_type": "client", "contact": "138"},
    {"guest_name": "科技博主小周", "organization": "", "guest_type": "kol", "contact": "weibo"},
]
