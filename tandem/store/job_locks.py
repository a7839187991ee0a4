"""Background jobs (alert checks, feature block compaction) run on every host that
serves; a job's lock makes them take turns, so no two hosts run the same job at once."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager


class JobLocks(ABC):
    @abstractmethod
    def exclusive(self, job: str) -> AbstractContextManager[bool]:
        """Hold `job`'s lock for the `with` block: it yields True to the one holder,
        False (run nothing) to anyone else while it is held. A lock dies with its
        holder's connection, so a host that crashes mid-run holds nothing."""
