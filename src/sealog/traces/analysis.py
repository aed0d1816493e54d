"""One pass over a trace feeding every fold: the summary, the findings and the guard.

The first events are kept too, for a report's timeline.

Every consumer is a streaming fold, so ``inspect`` and ``guard`` read the file exactly once and
hold only bounded state, however long the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sealog.policy import CompiledPolicy
from sealog.traces.events import Event
from sealog.traces.findings import Findings
from sealog.traces.guard import Guard, Violation
from sealog.traces.summary import Summary
from sealog.traces.trace import Trace

__all__ = ["TIMELINE", "Analysis", "analyse"]

TIMELINE = 2000
"""Events kept for a report's timeline (the first ones; the rest are counted)."""


@dataclass(slots=True)
class Analysis:
    """What one pass over a trace found."""

    trace: Trace
    summary: Summary = field(default_factory=Summary)
    findings: Findings = field(default_factory=Findings)
    guard: Guard | None = None
    violations: list[Violation] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the policy (if any) found no violation."""
        return not self.violations


def analyse(
    trace: Trace,
    policy: CompiledPolicy | None = None,
    *,
    timeline: int = 0,
    each: Callable[[Event], None] | None = None,
) -> Analysis:
    """Read ``trace`` once, folding every event into the summary, findings and guard.

    ``timeline`` keeps that many first events (for the HTML report); ``each`` sees every event
    too (``import --out`` writes them as they pass).

    Raises:
        InputError: the trace is unreadable (with ``strict``, any malformed line).
    """
    result = Analysis(trace, guard=None if policy is None else Guard(policy))
    summary, findings, guard = result.summary, result.findings, result.guard
    for event in trace:
        summary.add(event)
        findings.add(event)
        if guard is not None:
            guard.add(event)
        if len(result.timeline) < timeline:
            result.timeline.append(event)
        if each is not None:
            each(event)
    if guard is not None:
        result.violations = guard.finish()
    return result
