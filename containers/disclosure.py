"""Environment values are secrets (passwords in `Env`): pages show them masked, and revealing them
is an operator's or admin's POST, recorded in the audit log."""

from __future__ import annotations

import copy

MASK = "******"
CONFIG_KEYS = ("Config", "ContainerConfig")  # a container's, and an image's build-time config


def mask_value(item: str) -> str:
    """`KEY=value` -> `KEY=******`; a bare `KEY` (no value) stays as it is."""
    key, sep, _ = item.partition("=")
    return f"{key}={MASK}" if sep else item


def masked(info: dict) -> dict:
    """A copy of an inspect result with every Env value masked."""
    out = copy.deepcopy(info)
    for key in CONFIG_KEYS:
        config = out.get(key)
        if isinstance(config, dict) and config.get("Env"):
            config["Env"] = [mask_value(str(item)) for item in config["Env"]]
    return out


def environment(info: dict) -> list[tuple[str, str]]:
    """(name, value) for each Env entry of the inspect result's Config."""
    pairs = []
    for item in (info.get("Config") or {}).get("Env") or []:
        key, _, value = str(item).partition("=")
        pairs.append((key, value))
    return pairs
