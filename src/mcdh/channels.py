"""The two signal channels and their final states: the only place they are defined.

``"phi"`` is e+e- -> phi chi chibar (and its mock background), ``"gammaphi"``
is e+e- -> gamma phi chi chibar. The particle slots name the columns of
:class:`mcdh.events.Events` in the order the generators fill them.
"""
from __future__ import annotations

from typing import Literal

from .errors import ParameterError

Channel = Literal["phi", "gammaphi"]
"""Type of a channel (or process) name."""

CHANNELS: tuple[Channel, ...] = ("phi", "gammaphi")
"""The channels in their canonical order (also the order of seed keys)."""

PARTICLES: dict[str, tuple[str, ...]] = {
    "phi": ("phi", "chi", "chibar"),
    "gammaphi": ("gamma", "phi", "chi", "chibar"),
}
"""Particle slots of each channel's events."""


def check_channel(value: object, parameter: str = "channel") -> Channel:
    """Return ``value`` if it names a channel, else raise :class:`ParameterError` naming ``parameter``."""
    if value not in CHANNELS:
        raise ParameterError(parameter, value, f"must be one of {', '.join(CHANNELS)}")
    return value
