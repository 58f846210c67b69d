"""Events the engine publishes (subscribers name them by type string)."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from erp.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class RunWaiting(DomainEvent):
    event_type = "workflows.RunWaiting"
    thread_id: UUID
    definition: str
    definition_version: int
    step: str
    prompt: str  # "" for a WaitStep
    roles: list[str]  # [] for a WaitStep
    signal: str = ""  # the signal a WaitStep waits for; "" for a HumanStep


@dataclass(frozen=True, kw_only=True)
class RunCompleted(DomainEvent):
    event_type = "workflows.RunCompleted"
    thread_id: UUID
    definition: str
    definition_version: int
    result: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RunFailed(DomainEvent):
    event_type = "workflows.RunFailed"
    thread_id: UUID
    definition: str
    definition_version: int
    step: str
    error: str


@dataclass(frozen=True, kw_only=True)
class RunCancelled(DomainEvent):
    event_type = "workflows.RunCancelled"
    thread_id: UUID
    definition: str
    definition_version: int
    step: str  # where the run stood when it was cancelled
    cancelled_by: UUID | None  # core.User id; None when code cancelled it
    reason: str
