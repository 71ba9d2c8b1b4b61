"""Constants and builders shared by the ethics tests (imported by name; the file name is
unique across tests/ so pytest's default import mode cannot confuse it with another)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ethics import Viewing

# Every test uses this moment; nothing reads the wall clock.
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)

# A complete request that passes the gate at NOW with no findings at all.
VALID_TOML = (Path(__file__).parent / "data" / "valid_justification.toml").read_text(
    encoding="utf-8"
)


def seen(subject_id: int, *days_ago: float, user: str = "worker-a") -> list[Viewing]:
    """Completed viewings of one subject, `days_ago` days before NOW."""
    return [Viewing(subject_id, NOW - timedelta(days=d), user) for d in days_ago]
