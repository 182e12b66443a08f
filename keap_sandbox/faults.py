"""Fault injection: extra latency, 5xx responses, requests left hanging, dropped connections.

Each rule applies to requests whose path starts with its `path_prefix`. It fires on a seeded
random share of them (`rate`) or on a fixed repeating `pattern` such as "x..x" (x fires, any
other character passes), for at most `times` requests when that is set. The control API never
suffers faults.
"""

import random
from dataclasses import asdict, dataclass, field

KINDS = ("latency", "error", "hang", "drop")
ERROR_STATUSES = (500, 502, 503)
# A hanging request ends after this many seconds at most, so its server thread always finishes.
MAX_HANG_SECONDS = 120.0


@dataclass
class FaultRule:
    kind: str
    path_prefix: str = "/"
    rate: float = 1.0
    pattern: str | None = None
    status: int = 503
    seconds: float = 0.0
    times: int | None = None
    rule_id: int = 0
    seen: int = 0
    fired: int = 0

    def validate(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Invalid fault kind {self.kind!r}: use one of {', '.join(KINDS)}.")
        if self.kind == "error" and self.status not in ERROR_STATUSES:
            raise ValueError(f"Invalid fault status {self.status}: use 500, 502 or 503.")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"Invalid fault rate {self.rate}: use a share from 0 to 1.")
        if self.pattern is not None and not self.pattern:
            raise ValueError("Invalid fault pattern '': give at least one character.")
        if self.kind == "hang" and not 0 < self.seconds <= MAX_HANG_SECONDS:
            raise ValueError(
                f"Invalid hang of {self.seconds} s: give seconds from 0 to {MAX_HANG_SECONDS:g}, "
                "longer than the client's read timeout."
            )
        if self.kind == "latency" and self.seconds <= 0:
            raise ValueError("Invalid latency: give seconds greater than 0.")
        if not self.path_prefix.startswith("/"):
            raise ValueError(f"Invalid path_prefix {self.path_prefix!r}: it must start with '/'.")

    def should_fire(self, rng: random.Random) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        index = self.seen
        self.seen += 1
        if self.pattern is not None:
            fires = self.pattern[index % len(self.pattern)] == "x"
        else:
            fires = rng.random() < self.rate
        if fires:
            self.fired += 1
        return fires


@dataclass
class FaultOutcome:
    """The faults for one request: a delay, then a normal response or the `kind` of failure."""

    latency: float = 0.0
    kind: str | None = None
    status: int = 0
    seconds: float = 0.0


@dataclass
class FaultSettings:
    seed: int = 0
    rules: list[FaultRule] = field(default_factory=list)
    # Seeded so that a test gets the same faults on every run; not used for anything secret.
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311
    next_rule_id: int = 1

    def add(self, spec: dict) -> FaultRule:
        try:
            rule = FaultRule(**spec)
        except TypeError as exc:
            raise ValueError(f"Invalid fault rule {spec}: {exc}.")
        rule.validate()
        rule.rule_id = self.next_rule_id
        self.next_rule_id += 1
        self.rules.append(rule)
        return rule

    def clear(self, seed: int | None = None) -> None:
        self.rules.clear()
        if seed is not None:
            self.seed = seed
        self.rng = random.Random(self.seed)  # noqa: S311

    def decide(self, path: str) -> FaultOutcome:
        outcome = FaultOutcome()
        for rule in self.rules:
            if not path.startswith(rule.path_prefix) or not rule.should_fire(self.rng):
                continue
            if rule.kind == "latency":
                outcome.latency += rule.seconds
            elif outcome.kind is None:
                outcome.kind = rule.kind
                outcome.status = rule.status
                outcome.seconds = rule.seconds
        return outcome

    def as_dict(self) -> dict:
        return {
            "seed": self.seed,
            "rules": [asdict(rule) for rule in self.rules],
        }
