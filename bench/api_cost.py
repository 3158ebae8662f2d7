"""Per-request cost of start and complete through the Flask app (no network), on SQLite.

Prints the median and p95 in milliseconds. Not a test: run it with
`.venv/bin/python bench/api_cost.py [N]`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.context import build_context  # noqa: E402
from engine.db import transaction  # noqa: E402
from engine.deploy import deploy, uploads_from_paths  # noqa: E402
from engine.migrate import upgrade  # noqa: E402
from engine.people import add_user  # noqa: E402
from engine.settings import Settings  # noqa: E402
from web import create_app  # noqa: E402


def main(n: int = 200) -> None:
    tmp = Path(tempfile.mkdtemp())
    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.sqlite3'}", secret_key="bench")
    ctx = build_context(settings)
    upgrade(ctx.db)
    with transaction(ctx.sessions) as s:
        add_user(s, "alice", "bench-password", now=ctx.clock.now(),
                 groups=["planning_specialist"])
        add_user(s, "mgr", "bench-password", now=ctx.clock.now(), groups=["planning_manager"])
        deploy(ctx, s, uploads_from_paths([ROOT / "tests" / "fixtures" / "models"]), "bench")
    client = create_app({"TESTING": True}, context=ctx).test_client()

    def token(user: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", json={"username": user, "password": "bench-password"})
        return {"Authorization": f"Bearer {r.get_json()['token']}"}

    alice, mgr = token("alice"), token("mgr")
    starts, completes = [], []
    for i in range(n):
        t0 = time.perf_counter()
        r = client.post("/api/v1/process-instances", headers=alice,
                        json={"process": "approval_demo",
                              "data": {"title": f"bench {i}", "amount": 5000}})
        starts.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.get_json()
        task = r.get_json()["open_tasks"][0]["id"]
        t0 = time.perf_counter()
        r = client.post(f"/api/v1/tasks/{task}/complete", headers=alice,
                        json={"data": {"description": "bench"}})
        completes.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.get_json()
        review = r.get_json()["instance"]["open_tasks"][0]["id"]
        r = client.post(f"/api/v1/tasks/{review}/complete", headers=mgr,
                        json={"data": {"decision": "approve"}})
        assert r.status_code == 200
    def q(xs: list[float], p: float) -> float:
        return sorted(xs)[int(p / 100 * (len(xs) - 1))]

    print(f"SQLite, Flask test client, approval_demo, n={n}")
    print(f"{'request':<10} {'median ms':>10} {'p95 ms':>8}")
    print(f"{'start':<10} {statistics.median(starts):>10.2f} {q(starts, 95):>8.2f}")
    print(f"{'complete':<10} {statistics.median(completes):>10.2f} {q(completes, 95):>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
