"""What ``lean-mtls check`` found, as data: rendered as text or as ``--json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._output import EXIT_OK, EXIT_PROBLEM, EXIT_WARNING


@dataclass
class CheckReport:
    """What ``check`` found; rendered as text or JSON."""

    certificate: dict[str, Any] = field(default_factory=dict)
    key: dict[str, Any] = field(default_factory=dict)
    chain: dict[str, Any] = field(default_factory=dict)
    ca: dict[str, Any] = field(default_factory=dict)
    ping: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.problems:
            return EXIT_PROBLEM
        if self.warnings:
            return EXIT_WARNING
        return EXIT_OK

    @property
    def status(self) -> str:
        return {EXIT_OK: "ok", EXIT_PROBLEM: "problem", EXIT_WARNING: "warning"}[self.exit_code]

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "certificate": self.certificate,
            "key": self.key,
            "chain": self.chain,
            "ca": self.ca,
            "ping": self.ping,
            "problems": self.problems,
            "warnings": self.warnings,
            "notes": self.notes,
        }
