"""What ordinary diagram code can do in the sandbox: conditions, loops and comprehensions, item
assignment on task data, strings and formatting, dates with the diagram helpers, and its own
functions and exceptions."""

from __future__ import annotations

from datetime import datetime

from engine.sandbox import RestrictedEnvironment
from engine.sandbox.diagram_helpers import SHANGHAI
from tests.engine.script_helpers import env_fixture, pool_fixture, run  # noqa: F401  (fixtures)


def test_evaluate_conditions(env: RestrictedEnvironment) -> None:
    data = {"amount": 42000, "dept": "策划部", "items": [1, 2, 3]}
    assert env.evaluate("amount <= 50000", data) is True
    assert env.evaluate("amount > 50000 or dept == '策划部'", data) is True
    assert env.evaluate("len(items) == 3 and sum(items) == 6", data) is True
    assert env.evaluate("  \n amount + 1\n", data) == 42001  # XML-indented expressions
    assert env.evaluate("x + 1", {"x": 1}, {"x": 100}) == 2  # task data wins, as in Spiff
    assert env.evaluate("dmninputexpr <= 50000", {}, {"dmninputexpr": 7}) is True


def test_script_loops_augmented_assignment_and_comprehensions(env: RestrictedEnvironment) -> None:
    data = run(
        env,
        """
total = 0
count = 0
for item in items:
    total += item["amount"]
    count += 1
while count < 5:
    count += 1
big = [i["name"] for i in items if i["amount"] > 100]
by_name = {i["name"]: i["amount"] for i in items}
names = {i["name"] for i in items}
first, *rest = [i["amount"] for i in items]
pairs = [(k, v) for k, v in sorted(by_name.items())]
ranked = sorted(items, key=lambda i: i["amount"], reverse=True)[0]["name"]
top = max(items, key=lambda i: i["amount"])["name"]
evens = list(filter(lambda n: n % 2 == 0, range(10)))
doubled = list(map(lambda n: n * 2, [1, 2, 3]))
zipped = dict(zip(["a", "b"], [1, 2]))
flags = any(i["amount"] > 1000 for i in items), all(i["amount"] > 0 for i in items)
power = 2 ** 10
shifted = 1 << 4
rounded = round(10 / 3, 2)
mixed = divmod(17, 5), abs(-3), min(3, 1, 2), math.floor(2.7), math.sqrt(16)
""",
        items=[{"name": "a", "amount": 50}, {"name": "b", "amount": 500}],
    )
    assert data["total"] == 550
    assert data["count"] == 5
    assert data["big"] == ["b"]
    assert data["by_name"] == {"a": 50, "b": 500}
    assert data["names"] == {"a", "b"}
    assert (data["first"], data["rest"]) == (50, [500])
    assert data["pairs"] == [("a", 50), ("b", 500)]
    assert data["ranked"] == data["top"] == "b"
    assert data["evens"] == [0, 2, 4, 6, 8]
    assert data["doubled"] == [2, 4, 6]
    assert data["zipped"] == {"a": 1, "b": 2}
    assert data["flags"] == (False, True)
    assert (data["power"], data["shifted"], data["rounded"]) == (1024, 16, 3.33)
    assert data["mixed"] == ((3, 2), 3, 1, 2, 4.0)


def test_item_assignment_on_task_data(env: RestrictedEnvironment) -> None:
    data = run(
        env,
        """
form["status"] = "approved"
form["count"] += 1
form["nested"]["n"] *= 3
rows[0] = "first"
rows[1:2] += ["inserted"]
rows.append("last")
del form["tmp"]
""",
        form={"count": 1, "nested": {"n": 2}, "tmp": True},
        rows=["a", "b"],
    )
    assert data["form"] == {"status": "approved", "count": 2, "nested": {"n": 6}}
    assert data["rows"] == ["first", "b", "inserted", "last"]


def test_strings_and_formatting(env: RestrictedEnvironment) -> None:
    data = run(
        env,
        """
greeting = f"{name}，您好"
money = f"{amount:,.2f}"
padded = f"{code:>8}|{code!r}"
when = f"{due:%Y-%m-%d %H:%M}"
old_style = "%s-%05d" % (name, 42)
joined = ", ".join(["a", "b"])
upper = name.upper() + "x".center(3, "*")
parts = "a,b,c".split(",")
replaced = "a-b".replace("-", "+")
""",
        name="张三",
        amount=1234567.891,
        code="A1",
        due=datetime(2025, 3, 5, 18, 0, tzinfo=SHANGHAI),
    )
    assert data["greeting"] == "张三，您好"
    assert data["money"] == "1,234,567.89"
    assert data["padded"] == "      A1|'A1'"
    assert data["when"] == "2025-03-05 18:00"
    assert data["old_style"] == "张三-00042"
    assert data["joined"] == "a, b"
    assert data["upper"] == "张三*x*"
    assert data["parts"] == ["a", "b", "c"]
    assert data["replaced"] == "a+b"


def test_datetime_arithmetic_and_helpers(env: RestrictedEnvironment) -> None:
    data = run(
        env,
        """
start = parse_datetime(event_date)
reminder = (start - timedelta(days=30)).isoformat()
days_left = (start - now()).days
deadline = add_workdays(today(), 3).isoformat()
deadline_at = add_workdays(now(), 1).isoformat()
weekend = is_workday("2025-03-08")
utc = parse_datetime("2025-03-03T01:00:00Z").astimezone(SHANGHAI).hour
same = parse_date("2025-03-03T20:00:00Z") == date(2025, 3, 4)
fixed = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=8))).isoformat()
""",
        event_date="2025-04-10 09:00",
    )
    assert data["reminder"] == "2025-03-11T09:00:00+08:00"
    assert data["days_left"] == 38
    assert data["deadline"] == "2025-03-06"
    assert data["deadline_at"] == "2025-03-04T09:00:00+08:00"
    assert data["weekend"] is False
    assert data["utc"] == 9
    assert data["same"] is True
    assert data["fixed"] == "2025-01-01T00:00:00+08:00"


def test_functions_print_and_exceptions_inside_scripts(env: RestrictedEnvironment) -> None:
    data = run(
        env,
        """
def double(x):
    return x * 2
doubled = double(21)
print("debug output goes nowhere", doubled)
try:
    1 / 0
except ZeroDivisionError as error:
    message = str(error)
finally:
    cleaned = True
try:
    missing["x"]
except KeyError:
    fallback = True
""",
        missing={},
    )
    assert data["doubled"] == 42
    assert data["message"] == "division by zero"
    assert data["cleaned"] is True and data["fallback"] is True
    assert "double" not in data and "error" not in data  # Python unbinds `as` names
