"""Frozen records the services hand out. No SQL, no Qt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class Role(StrEnum):
    WORKER = "worker"
    MANAGER = "manager"
    AUDITOR = "auditor"


class SubjectRole(StrEnum):
    CHILD = "child"
    PARENT = "parent"
    CARER = "carer"
    RELATIVE = "relative"
    OTHER = "other"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool


@dataclass(frozen=True)
class Case:
    id: int
    reference: str
    title: str
    status: CaseStatus
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class Subject:
    id: int
    case_id: int
    name: str
    role: SubjectRole
    date_of_birth: date | None
    handles: tuple[str, ...]


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    case_id: int | None
    data: dict[str, object]
    hash: str
