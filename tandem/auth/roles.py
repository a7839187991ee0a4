"""Roles and the principal a verified key stands for.

Roles are ordered: client < reviewer < admin, and a role may do everything the roles
below it may. A route names the least role it needs, so there is one number to read
per route and no matrix to keep consistent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tandem.errors import InvalidInput


class Role(StrEnum):
    client = "client"  # an application: predict, send feedback
    reviewer = "reviewer"  # a person in the loop: queue, decisions, predictions, replay
    admin = "admin"  # an operator: models, promotion, monitoring, metrics, everything

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.client: 0, Role.reviewer: 1, Role.admin: 2}
ROLES = tuple(Role)


def parse_role(text: str) -> Role:
    """A role from user input, or an error that lists the valid ones."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise InvalidInput(
            f"unknown role {text!r}; valid roles: {', '.join(ROLES)} "
            "(client: predict and feedback; reviewer: + review queue and decisions; "
            "admin: everything)"
        ) from None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's id, its name (the identity stored on decisions and
    promotions) and its role."""

    key_id: str
    name: str
    role: Role

    def can(self, needed: Role | str) -> bool:
        return self.role.rank >= Role(needed).rank
