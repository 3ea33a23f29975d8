"""Screen power schedule (display.power). Placeholder until the schedule issue fills it."""

from __future__ import annotations


def parse_config(value: object) -> object:
    raise ValueError("display.power is not supported yet")
