"""What /api/v1 answers. The engine's read models build most answers as plain dicts; these
models declare their shape for the OpenAPI document (and the answers the web layer builds itself
are made from them). Nested records that only the pages read in detail (audit entries, timers,
delegations...) are declared as JSON objects."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

Item = TypeVar("Item")
Json = dict[str, Any]

INSTANCE_STATUSES = ("running", "waiting", "completed", "error", "terminated", "suspended")
# on_hold: waiting for 加签/会签 signatures (engine.operations)
TASK_STATUSES = ("open", "on_hold", "completed", "cancelled")


# --- errors -------------------------------------------------------------------------------------


class ErrorInfo(BaseModel):
    code: str = Field(description="invalid_input, unauthenticated, forbidden, not_found, ...")
    message: str = Field(description="中文 (English)")
    details: Json = Field(
        description="e.g. `field` naming the wrong request field, `fields` for form errors"
    )


class Error(BaseModel):
    """Every refusal: `{"error": {code, message, details}}`."""

    error: ErrorInfo


# --- tasks and instances ------------------------------------------------------------------------


class Task(BaseModel):
    """A human task (`engine.read.queries.task_dict`)."""

    id: str
    instance_id: int
    process: str
    element_id: str
    name: str
    lane: str | None = None
    assignee: str | None = None
    candidate_groups: list[str] = []
    status: Literal[TASK_STATUSES]
    form_file: str | None = None
    due_at: str | None = None
    overdue: bool = False
    created_at: str | None = None
    claimed_at: str | None = None
    completed_at: str | None = None
    completed_by: str | None = None
    instance_title: str = Field("", description="in task lists")


class Reopened(BaseModel):
    """Why a task exists when a 退回 (returned) or 撤回 (withdrawn) reopened its step."""

    kind: Literal["returned", "withdrawn"]
    by: str
    by_name: str
    at: str
    reason: str | None = None


class TaskDetail(Task):
    """A task with its form (form-js schema), instructions and the data it works on."""

    form: Json | None = None
    instructions: str | None = None
    data: Json = {}
    reopened: Reopened | None = None


class Instance(BaseModel):
    """A process instance (`engine.read.queries.instance_dict`)."""

    id: int
    process: str
    version: int
    title: str = ""
    status: Literal[INSTANCE_STATUSES]
    stage: str | None = None
    started_by: str
    created_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    suspended: bool = False
    process_name: str | None = Field(None, description="in lists: the model's name")
    started_by_name: str | None = Field(None, description="in lists: the starter's name")
    overdue: bool | None = Field(None, description="in lists: has an overdue open task")


class InstanceDetail(Instance):
    """An instance with its data, tasks, timers, incidents, documents and audit log."""

    data: Json
    open_tasks: list[Task]
    tasks: list[Task] = Field(
        [],
        description="oldest first; in the answer to an action only the live tasks and the "
        "latest 20, all of them in GET /process-instances/{id}",
    )
    tasks_total: int = Field(description="how many tasks the instance has had")
    timers: list[Json] = []
    incidents: list[Json] = []
    documents: list[Json] = []
    audit: list[Json] = Field(
        description="the audit log, oldest first; in the answer to an action (a start, a "
        "completion, a retry...) only its latest 50 entries, all of them in GET "
        "/process-instances/{id}",
    )
    audit_total: int = Field(description="how many audit entries the instance has")


class StartedInstance(InstanceDetail):
    """A just-started instance, with what its model warns the starter of."""

    warnings: list[str] = Field(
        [],
        description="the model's warnings to the starter (its `start_warnings` variable, "
        "recorded as system notes), e.g. an event less than 30 days away: which steps will be "
        "compressed; never a refusal",
    )


class Page(BaseModel, Generic[Item]):
    """One page of a list, newest first."""

    items: list[Item]
    total: int
    page: int
    per_page: int


class UnreadPage(Page[Item], Generic[Item]):
    """A page of the bell or of 抄送我的, with the caller's unread count."""

    unread: int


class Items(BaseModel, Generic[Item]):
    items: list[Item]


class Completed(BaseModel):
    task_id: str
    instance: InstanceDetail


# --- task operations ----------------------------------------------------------------------------


class Signer(BaseModel):
    """An added signer (加签/会签) or a voter."""

    id: int
    mode: str
    seq: int | None = None
    signer: str
    added_by: str | None = None
    status: str
    comment: str | None = None
    step_task_id: str | None = None
    created_at: str
    acted_at: str | None = None
    acted_by: str | None = None


class OperationResult(BaseModel):
    """What an operation answers: the instance, its open tasks and the task acted on (if any)."""

    instance: Instance
    open_tasks: list[Task]
    task: Task | None = Field(None, description="absent when no single task remains in focus")


class TaskActed(OperationResult):
    task_id: str


class SignersAdded(OperationResult):
    signers: list[Signer]


class SignerRemoved(OperationResult):
    signer: Signer


class TaskOperations(BaseModel):
    """What the caller may do on a task, its signers, delegations, pending submission, vote."""

    task: Task
    kind: Literal["task", "signature", "vote"]
    parent_task_id: str | None = None
    relation: str | None = None
    operations: dict[str, bool]
    signers: list[Signer]
    delegations: list[Json]
    submission: Json | None = None
    vote: Json | None = None
    last_reminded_at: str | None = None
    next_reminder_at: str | None = None


class InstanceHistory(BaseModel):
    """The handling history of an instance."""

    instance: Instance
    tasks: list[Task]
    history: list[Json]
    signers: list[Signer]
    delegations: list[Json]
    handovers: list[Json]
    cc: list[Json]


class ReturnTarget(BaseModel):
    task_id: str
    element_id: str
    name: str
    completed_by: str | None = None
    completed_at: str | None = None
    also_cancels: list[Json] = Field(description="open tasks a return there would cancel")


class Reminded(BaseModel):
    task_id: str
    reminded: list[str]


# --- 抄送, notifications, absences ---------------------------------------------------------------


class CcCopy(BaseModel):
    id: int
    instance_id: int
    task_id: str | None = None
    element_id: str | None = None
    cc_by: str
    note: str | None = None
    created_at: str
    read_at: str | None = None
    read: bool
    instance: Instance | None = Field(None, description="in 抄送我的")


class CcView(BaseModel):
    cc: CcCopy
    instance: InstanceDetail
    read_only: bool


class Notification(BaseModel):
    """An in-app notification; ``title``/``body`` in Chinese, ``*_en`` in English."""

    id: int
    event: str
    title: str
    body: str | None = None
    title_en: str | None = None
    body_en: str | None = None
    instance_id: int | None = None
    instance_title: str = ""
    task_id: str | None = None
    created_at: str
    read_at: str | None = None
    read: bool
    settled: bool = Field(False, description="it asked for a task that no longer waits")
    repeats: int = Field(1, description="how often the same nudge came while unread")


class Marked(BaseModel):
    marked: int


class NotificationsMarked(Marked):
    unread: int


class UnreadCounts(BaseModel):
    unread: int
    cc_unread: int


class Absence(BaseModel):
    id: int
    username: str
    starts_at: str
    ends_at: str | None = None
    deputy: str | None = None
    reason: str | None = None
    set_by: str | None = None
    active: bool | None = Field(None, description="in lists")


class Returned(BaseModel):
    returned_tasks: int


# --- accounts and models ------------------------------------------------------------------------


class Token(BaseModel):
    token: str
    username: str


class Me(BaseModel):
    username: str
    display_name: str
    groups: list[str]
    is_admin: bool


class Health(BaseModel):
    status: Literal["ok"]


class ModelSummary(BaseModel):
    key: str
    name: str
    latest_version: int
    updated_at: str | None = None


class ModelVersion(BaseModel):
    version: int
    hash: str
    deployed_by: str | None = None
    created_at: str | None = None
    files: list[str]


class ModelDetail(BaseModel):
    key: str
    name: str
    latest_version: int
    versions: list[ModelVersion]


class DeployResult(BaseModel):
    key: str
    name: str
    version: int
    created: bool = Field(description="false: the same files were deployed before")


class Deployed(BaseModel):
    deployed: list[DeployResult]
