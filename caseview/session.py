"""Who is acting, on which case file, at what time. Every service takes one first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from caseview.clock import Clock, system_clock
from caseview.domain import Role, User
from caseview.storage import Store


@dataclass
class Session:
    casefile: Store
    """A case file, or a team server signed in as this person (the name is historic)."""
    user: User
    clock: Clock = field(default=system_clock)

    def now(self) -> datetime:
        return self.clock()

    @property
    def actor(self) -> str:
        return self.user.username

    @property
    def role(self) -> Role:
        return self.user.role

    def close(self) -> None:
        self.casefile.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
