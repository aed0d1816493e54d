"""Verification: what an auditor runs, trusting no one (spec §8).

:class:`Audit` (in ``_audit``) reads a log's stored rows once, in order, and answers whether the
log is intact and complete; :class:`VerifyReport` and :class:`Gap` (in ``report``) are what it
finds. This module is the public name of both.
"""

from __future__ import annotations

from sealog.ledger._audit import Audit
from sealog.ledger.report import GAP_KINDS, INTEGRITY_KINDS, Gap, VerifyReport

__all__ = ["GAP_KINDS", "INTEGRITY_KINDS", "Audit", "Gap", "VerifyReport"]
