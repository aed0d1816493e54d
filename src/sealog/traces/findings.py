"""Risky patterns in a run: one streaming pass, linear in its length, each finding located.

Detectors, each with a stable ``rule`` id:

* ``prompt-injection`` — injection markers ("ignore previous instructions", fake system turns …)
  in content from the network or from a tool.
* ``tainted-flow`` — content fetched from the network reaching a later shell command, file
  write or git action: a distinctive token of the fetched text (a URL, a path, a long word)
  appears in the sink. The source and the sink events are both named. Fetched text is reduced
  to a bounded set of token fingerprints as it arrives, and each sink is tokenized once, so the
  pass never compares pairs of events.
* ``sensitive-path`` — reads or writes of ``.env``, keys, credentials, kubeconfig …, by a file
  tool or named in a shell command.
* ``secret`` — credentials (cloud keys, tokens, private keys) in commands, arguments or outputs;
  the evidence shows only the secret's kind and first characters.
* ``destructive-command`` — ``rm -rf`` on a broad path, force pushes, ``curl … | sh``, disk
  wipes, recursive world-writable permissions.
* ``permission`` — escalations asked for or granted, and refusals.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from sealog.traces.classify import git_action
from sealog.traces.events import Event

__all__ = ["SEVERITIES", "Finding", "Findings", "Severity", "mask_secrets"]

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info")
_EVIDENCE = 160
_MAX_TOKENS = 50_000
"""Fingerprints of fetched content remembered at once (oldest forgotten first)."""
_PER_SOURCE = 2_000
_TOKEN = re.compile(r"[A-Za-z0-9_./:@%+=~-]{12,200}")
_SCAN = 1 << 20
"""Characters of any one text scanned by the regex detectors (a huge output is cut)."""

_INJECTION = re.compile(
    r"ignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) "
    r"(?:instructions|prompts?|rules)"
    r"|disregard (?:all |the )?(?:previous|prior|above|earlier|your) "
    r"(?:instructions|rules|guidelines)"
    r"|forget (?:all |everything |your )(?:previous |prior )?(?:instructions|rules)"
    r"|you are now (?:in )?(?:developer|dan|jailbreak|unrestricted)"
    r"|new (?:system )?instructions?:"
    r"|<\|im_start\|>\s*system|\[system\]|<system>|</?\s*system[-_ ]?prompt\s*>"
    r"|do not (?:tell|inform|mention (?:this )?to) the user"
    r"|(?:reveal|print|output|exfiltrate|send) (?:your|the) "
    r"(?:system prompt|api key|secrets?|credentials)",
    re.IGNORECASE,
)
_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})")),
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{32,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Stripe secret key", re.compile(r"\b(?:sk|rk)_live_[A-Za-z0-9]{20,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")),
    ("JSON web token",
     re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("password assignment",
     re.compile(r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|token)\s*[=:]\s*"
                r"['\"]?[^\s'\"$<>{}]{8,}")),
)  # fmt: skip
_SENSITIVE = (
    ".env", ".env.*", "*.pem", "*.key", "id_rsa", "id_rsa.*", "id_ed25519", "id_ed25519.*",
    "id_ecdsa", "*.p12", "*.pfx", "*.jks", "*.keystore", ".netrc", ".npmrc", ".pypirc",
    ".git-credentials", "credentials", "credentials.json", "*.kubeconfig", "kubeconfig",
    "secrets.yaml", "secrets.yml", "secrets.json", "shadow", ".htpasswd", "*.tfstate",
    "service-account*.json", "*_rsa", "*.ovpn",
)  # fmt: skip
_SENSITIVE_DIRS = ("/.ssh/", "/.aws/", "/.kube/", "/.gnupg/", "/.docker/config.json",
                   "/.config/gcloud/", "/.azure/", "/etc/shadow", "/etc/sudoers")  # fmt: skip
_WORD = re.compile(r"[^\s'\"`;|&<>()]+")
_BROAD = re.compile(
    r"^(?:/|/\*|~|~/|~/\*|\$HOME|\$HOME/|\$HOME/\*|\*|\.|\./|\.\./?|/[a-z]+/?|\$\{?[A-Z_]+\}?/?)$"
)
_DESTRUCTIVE: tuple[tuple[str, Severity, re.Pattern[str]], ...] = (
    ("pipes a download into a shell", "critical",
     re.compile(r"\b(?:curl|wget|fetch)\b[^|;&\n]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b")),
    ("force-pushes", "high",
     re.compile(r"\bgit\s+push\b[^;&|\n]*\s(?:--force(?:-with-lease)?|-f)\b")),
    ("resets a branch hard", "medium", re.compile(r"\bgit\s+reset\s+--hard\b")),
    ("wipes a disk", "critical",
     re.compile(r"\b(?:mkfs(?:\.\w+)?|wipefs)\b|\bdd\b[^\n]*\bof=/dev/")),
    ("makes files world-writable recursively", "high",
     re.compile(r"\bchmod\s+-R\s+0?777\b")),
    ("runs a fork bomb", "critical", re.compile(r":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:")),
    ("drops a database table", "high", re.compile(r"(?i)\bdrop\s+(?:table|database|schema)\b")),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Finding:
    """One risky thing, at one event, with the evidence and (for flows) the source event."""

    rule: str
    severity: Severity
    index: int
    title: str
    evidence: str
    source: int | None = None
    """``tainted-flow``: the index of the event whose content reached this one."""
    line: int | None = None
    """The input line of the event, where the format has lines."""

    def to_dict(self, *, include_evidence: bool) -> dict[str, Any]:
        """JSON-ready; the evidence only when asked (it may quote commands and content)."""
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity,
            "event": self.index,
            "line": self.line,
            "title": self.title,
        }
        if self.source is not None:
            out["source_event"] = self.source
        if include_evidence:
            out["evidence"] = self.evidence
        return out


def mask_secrets(text: str) -> str:
    """``text`` with every credential a detector recognizes cut to its first characters."""
    for _, pattern in _SECRETS:
        text = pattern.sub(lambda m: _masked(m.group(0)), text)
    return text


def _snippet(text: str, start: int, end: int) -> str:
    a, b = max(start - 40, 0), min(end + 40, len(text))
    piece = text[a:b].replace("\n", " ")
    return ("…" if a else "") + piece[:_EVIDENCE] + ("…" if b < len(text) else "")


def _masked(secret: str) -> str:
    return secret[:4] + "…" + f"({len(secret)} characters)"


def _sensitive(path: str) -> bool:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    full = "/" + path.lstrip("/")
    return any(fnmatchcase(name, g) for g in _SENSITIVE) or any(d in full for d in _SENSITIVE_DIRS)


class Findings:
    """The detectors, fed one event at a time (:meth:`add`); findings kept in event order."""

    def __init__(self, limit: int = 10_000) -> None:
        """Keep at most ``limit`` findings (the rest counted in :attr:`dropped`)."""
        self.found: list[Finding] = []
        self.dropped = 0
        self._limit = limit
        self._tokens: OrderedDict[str, int] = OrderedDict()

    def __iter__(self) -> Iterator[Finding]:
        """The findings so far."""
        return iter(self.found)

    def _add(self, finding: Finding) -> None:
        if len(self.found) < self._limit:
            self.found.append(finding)
        else:
            self.dropped += 1

    def _hit(
        self,
        rule: str,
        severity: Severity,
        event: Event,
        title: str,
        evidence: str,
        *,
        source: int | None = None,
    ) -> None:
        line = event.source.line if event.source else None
        self._add(Finding(rule, severity, event.index, title, evidence, source, line))

    def add(self, event: Event) -> None:
        """Run every detector on one event."""
        kind = event.kind
        if kind == "shell" and event.command:
            self._command(event, event.command)
        if kind in {"file_read", "file_write", "file_edit"}:
            for path in event.paths:
                if _sensitive(path):
                    verb = "reads" if kind == "file_read" else "writes"
                    sev: Severity = "medium" if kind == "file_read" else "high"
                    if event.status == "denied":
                        verb, sev = f"tried to {verb[:-1]} (refused)", "low"
                    self._hit("sensitive-path", sev, event, f"{verb} a sensitive file", path)
        if kind == "permission":
            self._permission(event)
        sink = self._sink_text(event)
        if sink:
            self._flow(event, sink)
        for text in (event.command, _args_text(event), event.result):
            if text:
                self._secrets(event, text)
        content = event.result if kind != "message" else None
        if content and kind in {"network_fetch", "tool_call", "file_read"}:
            self._injection(event, content)
        if kind == "network_fetch" and event.result:
            self._remember(event.result, event.index)

    def _command(self, event: Event, command: str) -> None:
        text = command[:_SCAN]
        for title, severity, pattern in _DESTRUCTIVE:
            if m := pattern.search(text):
                self._hit(
                    "destructive-command",
                    severity,
                    event,
                    f"command {title}",
                    _snippet(text, m.start(), m.end()),
                )
        if target := _rm_rf_broad(text):
            self._hit(
                "destructive-command",
                "critical",
                event,
                f"command removes a broad path recursively ({target})",
                _snippet(text, 0, 0),
            )
        for word in _WORD.findall(text):
            if ("/" in word or "." in word) and _sensitive(word):
                self._hit("sensitive-path", "high", event, "command touches a sensitive file", word)
                break

    def _permission(self, event: Event) -> None:
        what = event.tool or "a tool"
        reason = event.reason or event.text or ""
        if event.decision == "requested":
            self._hit(
                "permission", "medium", event, f"escalation asked for {what}", reason[:_EVIDENCE]
            )
        elif event.decision == "granted":
            self._hit(
                "permission", "medium", event, f"escalation granted for {what}", reason[:_EVIDENCE]
            )
        elif event.decision == "denied":
            self._hit("permission", "low", event, f"{what} was refused", reason[:_EVIDENCE])

    @staticmethod
    def _sink_text(event: Event) -> str | None:
        if event.status == "denied":
            return None
        if event.kind == "shell":
            return event.command
        if event.kind in {"file_write", "file_edit", "git"}:
            return _args_text(event)
        return None

    def _flow(self, event: Event, sink: str) -> None:
        if not self._tokens:
            return
        for token in _TOKEN.findall(sink[:_SCAN]):
            source = self._tokens.get(token)
            if source is not None and source < event.index:
                what = {"shell": "a shell command", "git": "a git action"}.get(
                    event.kind, "a file write"
                )
                if event.kind == "shell" and event.command and git_action(event.command):
                    what = "a git action"
                severity: Severity = "critical" if event.kind == "shell" else "high"
                self._hit(
                    "tainted-flow",
                    severity,
                    event,
                    f"content fetched at event {source} reaches {what}",
                    token[:_EVIDENCE],
                    source=source,
                )
                return

    def _remember(self, text: str, index: int) -> None:
        seen = 0
        for token in _TOKEN.findall(text[:_SCAN]):
            if token in self._tokens or token.isdigit():
                continue
            self._tokens[token] = index
            seen += 1
            if len(self._tokens) > _MAX_TOKENS:
                self._tokens.popitem(last=False)
            if seen == _PER_SOURCE:
                break

    def _secrets(self, event: Event, text: str) -> None:
        scan = text[:_SCAN]
        for name, pattern in _SECRETS:
            if m := pattern.search(scan):
                self._hit("secret", "high", event, f"{name} in the run", _masked(m.group(0)))
                return

    def _injection(self, event: Event, text: str) -> None:
        if m := _INJECTION.search(text[:_SCAN]):
            network = event.kind == "network_fetch"
            severity: Severity = "high" if network else "medium"
            where = "fetched content" if network else "tool output"
            self._hit(
                "prompt-injection",
                severity,
                event,
                f"prompt-injection marker in {where}",
                _snippet(text, m.start(), m.end()),
            )


def _args_text(event: Event) -> str | None:
    if not event.args:
        return None
    parts = [str(v) for v in event.args.values() if isinstance(v, str | int | float)]
    return "\n".join(parts) if parts else None


def _rm_rf_broad(command: str) -> str | None:
    """The broad target of an ``rm -rf`` in ``command`` (``/``, ``~``, ``*`` …), if any."""
    for part in re.split(r"&&|\|\||[;|\n]", command):
        words = part.split()
        while words and words[0] in {"sudo", "command", "exec"}:
            words = words[1:]
        if not words or words[0] != "rm":
            continue
        flags = "".join(w[1:] for w in words[1:] if w.startswith("-") and not w.startswith("--"))
        long = {w for w in words[1:] if w.startswith("--")}
        recursive = "r" in flags.lower() or "--recursive" in long
        force = "f" in flags or "--force" in long
        if not (recursive and force):
            continue
        for target in (w.strip("'\"") for w in words[1:] if not w.startswith("-")):
            if _BROAD.match(target):
                return target
    return None
