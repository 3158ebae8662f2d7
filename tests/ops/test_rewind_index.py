"""`rewind.SpecIndex` answers `workflow.get_tasks(spec_name=…)` from one walk of the tree: the
same tasks in the same order for every spec name, and the same plans as a walk per question,
on a workflow whose join fired in the other branch (cancelled and completed join tasks)."""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

from engine.bpmn import rewind
from engine.bpmn.runtime import find_task
from engine.store import instance_state
from tests.ops.helpers import by_element, complete, run, start


def _past_the_join(ctx, people):
    iid = start(ctx, people["alice"], "parallel_review", {"title": "并行"})
    complete(ctx, people["alice"], by_element(ctx, iid, "draft").id, {"draft_v": 1})
    complete(ctx, people["alice"], by_element(ctx, iid, "a1").id, {"a1_v": 1})
    complete(ctx, people["sup"], by_element(ctx, iid, "a2").id, {"a2_v": 1})
    complete(ctx, people["bob"], by_element(ctx, iid, "b1").id, {"b1_v": 1})
    complete(ctx, people["fin"], by_element(ctx, iid, "b2").id, {"b2_v": 1})
    return iid, by_element(ctx, iid, "approve").id


def _workflow(ctx, iid):
    def restore(c, s):
        return instance_state.restore(c, s, instance_state.get_instance(s, iid), [])[0]
    return run(ctx, restore)


def test_the_index_is_the_walk_for_every_spec(ctx, people) -> None:
    iid, _ = _past_the_join(ctx, people)
    workflow = _workflow(ctx, iid)
    index = rewind.SpecIndex()
    names = {t.task_spec.name for t in workflow.get_tasks()}
    assert any(  # not vacuous: a join with a cancelled and a completed task
        {t.state for t in workflow.get_tasks(spec_name=n)} >= {TaskState.CANCELLED,
                                                                TaskState.COMPLETED}
        for n in names
    )
    for name in sorted(names):
        assert index.tasks(workflow, name) == workflow.get_tasks(spec_name=name), name
    assert index.tasks(workflow, "no such spec") == []


def test_one_index_for_every_plan_plans_as_a_walk_per_question(ctx, people) -> None:
    iid, approve = _past_the_join(ctx, people)
    workflow = _workflow(ctx, iid)
    task = find_task(workflow, approve)
    shared = rewind.SpecIndex()
    targets = rewind.predecessors(task, shared)
    assert [t.id for t in targets] == [t.id for t in rewind.predecessors(task)]
    assert len(targets) == 5
    unfired = 0
    for target in targets:
        with_index, alone = rewind.plan(workflow, target, shared), rewind.plan(workflow, target)
        assert [t.id for t in with_index.region] == [t.id for t in alone.region]
        assert [t.id for t in with_index.unfire] == [t.id for t in alone.unfire]
        unfired += len(alone.unfire)
    assert unfired  # a target in the branch that did not fire the join unfires it
