"""What a `docker run` / `docker create` asks for, rendered as the exact command line and as engine options.

The run form, its live preview and the Apache demo all build a RunSpec, so the command the page shows
is the one the panel runs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field, replace

from containers import ports as port_grammar
from containers.ports import PortBinding

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")


@dataclass(frozen=True)
class RunSpec:
    image: str
    name: str = ""
    command: tuple[str, ...] = ()
    interactive: bool = False
    tty: bool = False
    detach: bool = True
    start: bool = True  # False: `docker create`, not started
    environment: tuple[tuple[str, str], ...] = ()
    restart: str = "no"
    ports: tuple[PortBinding, ...] = ()
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    def argv(self) -> list[str]:
        args = ["docker", "run" if self.start else "create"]
        if self.start and self.detach:
            args.append("-d")
        if self.interactive:
            args.append("-i")
        if self.tty:
            args.append("-t")
        if self.name:
            args += ["--name", self.name]
        for key, value in self.environment:
            args += ["-e", f"{key}={value}"]
        if self.restart != "no":
            args += ["--restart", self.restart]
        for binding in self.ports:
            args += ["-p", port_grammar.to_text(binding)]
        args.append(self.image)
        args += list(self.command)
        return args

    def cli(self) -> str:
        """The command a person can paste into a shell for the same effect (quoted for sh)."""
        return shlex.join(self.argv())

    def engine_options(self) -> dict:
        """Keyword arguments for engine.create_container / engine.run_container (besides the image)."""
        return {
            "name": self.name,
            "command": list(self.command) or None,
            "interactive": self.interactive,
            "tty": self.tty,
            "environment": dict(self.environment),
            "restart_policy": self.restart,
            "ports": port_grammar.to_sdk(list(self.ports)),
            "labels": self.labels,
        }

    def audit_params(self) -> dict:
        """Every parameter for the audit log; environment values are masked (they often hold secrets)."""
        masked = replace(self, environment=tuple((k, "***") for k, _ in self.environment))
        return {
            "image": self.image,
            "name": self.name,
            "command": list(self.command),
            "mode": "run" if self.start else "create",
            "interactive": self.interactive,
            "tty": self.tty,
            "detach": self.detach,
            "environment": [f"{k}=***" for k, _ in self.environment],
            "restart": self.restart,
            "ports": [port_grammar.to_text(b) for b in self.ports],
            "cli": masked.cli(),
        }
