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
    version: int
    step: str
    prompt: str
    roles: list[str]


@dataclass(frozen=True, kw_only=True)
class RunCompleted(DomainEvent):
    event_type = "workflows.RunCompleted"
    thread_id: UUID
    definition: str
    version: int
    result: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RunFailed(DomainEvent):
    event_type = "workflows.RunFailed"
    thread_id: UUID
    definition: str
    version: int
    step: str
    error: str
