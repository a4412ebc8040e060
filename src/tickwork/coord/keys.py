"""Every Redis key tickwork uses, from one builder."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "tickwork"

    def lock(self, key: str) -> str:
        return f"{self.prefix}:lock:{key}"

    def run_lock(self, run_id: str, fence: int) -> str:
        return f"run:{run_id}:{fence}"

    def leader(self, name: str) -> str:
        return f"{self.prefix}:leader:{name}"

    def leader_fence(self, name: str) -> str:
        return f"{self.prefix}:leader:{name}:fence"

    def rate(self, name: str, window: int) -> str:
        return f"{self.prefix}:rate:{name}:{window}"

    def channel(self, topic: str) -> str:
        return f"{self.prefix}:ch:{topic}"

    @property
    def channel_pattern(self) -> str:
        return f"{self.prefix}:ch:*"

    def topic_of(self, channel: str) -> str:
        return channel[len(self.prefix) + 4 :]
