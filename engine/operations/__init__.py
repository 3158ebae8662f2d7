"""Task operations of Chinese approval practice, as engine use cases (no Flask).

认领/取消认领 claim/unclaim, 提交 submit, 转办 transfer, 委派 delegate (+ resolve, recall),
加签/减签 add/remove signer, 签署 sign (a signer's or voter's approve/reject), 会签/或签 votes,
退回 return, 撤回 withdraw, 催办 remind, 终止 terminate. 抄送 CC is `engine.operations.cc`, A/B
absences
in `engine.people.absence` (the hand-over rules: `engine.people.handover`).

The package: `shared` (lookups, guards, audit), `assignment`
(claim, unclaim, transfer), `delegation`, `signers` (submit, 加签, 减签, sign) with `completion`
and `votes`, `returns`, `withdrawal` (withdraw, withdraw_instance, terminate), `reminders`,
`views` (what a task offers, the history). This module re-exports their public names, and the
few shared helpers `engine.operations.cc` uses.

Every operation: authorise through `engine.access` (NotFound for a task the actor may not know
of, then Forbidden), check state (Conflict / InvalidInput),
then change, audit (`engine.store.instance_state.audit`) and notify — all in the caller's
transaction, so a
refusal changes nothing. Each one bumps the instance's version, so two concurrent operations on
one instance cannot both commit.

Design of the projection around a BPMN user task T (see also `engine.operations.save_hooks`):

* 转办: T's assignee changes for good.  委派: a `task_delegations` row (owner, delegate) and T's
  assignee becomes the delegate; the delegate may save form data (kept in the task's data) and
  *resolves*, which gives T back to the owner. Only the owner completes T.
* 加签 (added by T's handler): `task_signers` rows. Each signature, when due, is its own
  projection row (a `human_tasks` row with a planflow id, no form) in the signer's inbox:
  - before: signs first, sequentially; T is `on_hold` (out of the owner's inbox) meanwhile and
    comes back to the owner afterwards;
  - parallel (countersign): opens at once; everyone must approve;
  - after: opens when the owner submits; the owner's data waits in `task_submissions`.
  The BPMN task completes (with the owner's data, completed_by = owner) only when every
  signature is approved. A rejection sends T back to the owner (their submission is discarded,
  after-signers must sign again) and blocks completion until the owner asks that signer again
  (adding them anew) or returns the instance. 减签 removes a signature not yet given.
* 会签/或签 from the model (`signMode` = all | any | quorum:N, `assignees` = expression): T is
  held and every assignee gets a vote row; planflow counts the votes (SpiffWorkflow's
  completionCondition only sees the last instance's data, so a quorum cannot be counted there)
  and completes T with `<element>_decision` = approve|reject and `<element>_votes`.
* 退回 / 撤回 rewind the workflow (`engine.bpmn.rewind`): parallel branches not on the way back
  stay.
"""

from __future__ import annotations

from engine.operations.assignment import claim, transfer, unclaim
from engine.operations.delegation import delegate, recall, resolve
from engine.operations.reminders import last_reminded, remind, remind_interval
from engine.operations.returns import return_targets, return_to
from engine.operations.shared import (
    LIVE_SIGNER,
    MAX_TEXT,
    MAX_USERS,
    ON_HOLD,
    SIGNER_MODES,
    active_users,
    clean_text,
    require_bpmn_row,
    step_signer,
    touch_instance,
)
from engine.operations.signers import (
    add_signers,
    remove_signer,
    sign,
    signer_parent_task,
    submit,
)
from engine.operations.views import (
    OPS_ACTIONS,
    available_operations,
    instance_operations,
    signer_dict,
    task_operations,
    task_page,
)
from engine.operations.votes import vote_rule
from engine.operations.withdrawal import (
    reopened_step,
    terminate,
    withdraw,
    withdraw_instance,
)

__all__ = [
    "LIVE_SIGNER",
    "MAX_TEXT",
    "MAX_USERS",
    "ON_HOLD",
    "OPS_ACTIONS",
    "SIGNER_MODES",
    "active_users",
    "add_signers",
    "available_operations",
    "claim",
    "clean_text",
    "delegate",
    "instance_operations",
    "last_reminded",
    "recall",
    "remind",
    "remind_interval",
    "remove_signer",
    "reopened_step",
    "require_bpmn_row",
    "resolve",
    "return_targets",
    "return_to",
    "sign",
    "signer_dict",
    "signer_parent_task",
    "step_signer",
    "submit",
    "task_operations",
    "task_page",
    "terminate",
    "touch_instance",
    "transfer",
    "unclaim",
    "vote_rule",
    "withdraw",
    "withdraw_instance",
]
