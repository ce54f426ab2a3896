"""mock_scripts.py: the reply scripts of mock_responses.py, decided from one /responses request.

Contract (Python 3.11 standard library only): ``choose(ledger, turn)`` returns the script name
and the ``Reply`` (output items, or a hang, or an error) for a request parsed by
``Turn.from_request``; ``usage(n_items, reply)`` returns the deterministic usage numbers. The
decision uses only the request (prompt keyword, items after the prompt, turn metadata) plus the
ledger's id counter and its once-per-``prompt_cache_key`` record of the huge compaction usage.
The scripts are listed in mock_responses.py's docstring.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Protocol
from collections.abc import Callable


class Ledger(Protocol):
    """What scripts need from the server's shared state."""

    def new_id(self, kind: str) -> str:
        """Returns ``<kind>_NNNN_<8 hex>`` with the next global counter value."""

    def claim_huge(self, cache_key: str) -> bool:
        """True the first time a prompt_cache_key asks for the huge (compaction) usage."""


HUGE_INPUT_TOKENS = 250_000
SHELL_TOOLS = ("exec_command", "shell_command", "shell")
# Prefixes of user-role messages that Codex writes itself (never the user's prompt).
INJECTED_PREFIXES = (
    "<environment_context",
    "# AGENTS.md",
    "<user_instructions",
    "<skill",
    "<subagent_notification",
    "<turn_aborted",
    "<hook_prompt",
    "You are performing a CONTEXT CHECKPOINT COMPACTION",
    "Another language model started to solve this problem",
)
COMPACTION_PROMPT = "CONTEXT CHECKPOINT COMPACTION"
SUMMARY_BRIDGE = "Another language model started to solve this problem"


# --------------------------------------------------------------------------------------------
# Reading the request: prompt, turn so far, metadata.


def message_text(item: dict[str, Any]) -> str:
    """Concatenated text of a message item's content parts."""
    content = item.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def is_injected(text: str) -> bool:
    """True for user messages that Codex writes itself."""
    stripped = text.lstrip()
    return any(stripped.startswith(p) for p in INJECTED_PREFIXES)


@dataclass
class Turn:
    """What one /responses request says about the turn in progress."""

    prompt: str
    after: list[dict[str, Any]]
    meta: dict[str, Any]
    body: dict[str, Any]

    @classmethod
    def from_request(cls, body: dict[str, Any], headers: dict[str, str]) -> Turn:
        items = [i for i in body.get("input", []) if isinstance(i, dict)]
        prompt_idx = -1
        for idx, item in enumerate(items):
            is_user = item.get("type") == "message" and item.get("role") == "user"
            if is_user and not is_injected(message_text(item)):
                prompt_idx = idx
        prompt = message_text(items[prompt_idx]) if prompt_idx >= 0 else ""
        try:
            meta = json.loads(headers.get("x-codex-turn-metadata", "{}"))
        except json.JSONDecodeError:
            meta = {}
        return cls(prompt, items[prompt_idx + 1 :], meta if isinstance(meta, dict) else {}, body)

    def outputs(self) -> dict[str, str]:
        """call_id -> output text of every function_call_output after the prompt."""
        found = {}
        for item in self.after:
            if item.get("type") == "function_call_output":
                out = item.get("output")
                found[item.get("call_id", "")] = out if isinstance(out, str) else json.dumps(out)
        return found

    def calls(self) -> list[dict[str, Any]]:
        """The function_call items after the prompt, in order."""
        return [i for i in self.after if i.get("type") == "function_call"]

    def last_call_was_shell(self) -> bool:
        """True when the newest function call after the prompt is a shell tool."""
        calls = self.calls()
        return bool(calls) and calls[-1].get("name") in SHELL_TOOLS

    def saw(self, needle: str) -> bool:
        """True when a message after the prompt contains ``needle``."""
        return any(needle in message_text(i) for i in self.after if i.get("type") == "message")

    def shell_tool(self) -> str:
        """The shell tool name that tools[] advertises (exec_command preferred)."""
        names = {t.get("name") for t in self.body.get("tools", []) if isinstance(t, dict)}
        return next((n for n in SHELL_TOOLS if n in names), SHELL_TOOLS[0])


# --------------------------------------------------------------------------------------------
# Replies: a list of output items plus usage, decided per script.


@dataclass
class Reply:
    """One scripted model reply."""

    items: list[dict[str, Any]]
    huge: bool = False
    after_shell: bool = False
    hang: bool = False
    error: bool = False


def reasoning(state: Ledger, summary: str) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": state.new_id("rs"),
        "summary": [{"type": "summary_text", "text": summary}],
    }


def message(state: Ledger, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": state.new_id("msg"),
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def function_call(
    state: Ledger, name: str, args: dict[str, Any], namespace: str | None = None
) -> dict[str, Any]:
    call_id = state.new_id("call")
    item = {"type": "function_call", "id": state.new_id("fc"), "status": "completed"}
    if namespace:
        item["namespace"] = namespace
    item.update({"name": name, "arguments": json.dumps(args), "call_id": call_id})
    return item


def shell_call(state: Ledger, turn: Turn, cmd: str, **extra: Any) -> dict[str, Any]:
    args = {"cmd": cmd, **extra}
    args.setdefault("yield_time_ms", 2000)
    return function_call(state, turn.shell_tool(), args)


def closing(state: Ledger, turn: Turn, verb: str = "finished") -> Reply:
    """The final message after shell output(s): quotes the tail of each output."""
    outs = [o for cid, o in turn.outputs().items() if cid]
    tails = "; ".join(repr(o[-300:]) for o in outs)
    label = "The command" if len(outs) == 1 else f"All {len(outs)} commands"
    return Reply(
        [message(state, f"{label} {verb}. Output tail: {tails}")],
        after_shell=turn.last_call_was_shell(),
    )


def script_notool(state: Ledger, turn: Turn) -> Reply:
    if turn.saw("<hook_prompt"):
        return Reply(
            [
                reasoning(state, "**Continuing**"),
                message(state, "Continuing as the Stop hook asked."),
            ]
        )
    return Reply(
        [reasoning(state, "**Answering directly**"), message(state, "Hi! No tools needed.")]
    )


def script_spawn(state: Ledger, turn: Turn) -> Reply:
    by_name = {c.get("name"): c for c in turn.calls()}
    outputs = turn.outputs()
    wait = by_name.get("wait_agent")
    if wait and wait.get("call_id") in outputs:
        return Reply([message(state, "Sub-agent finished; all done.")])
    spawn = by_name.get("spawn_agent")
    if spawn and spawn.get("call_id") in outputs:
        try:
            agent_id = json.loads(outputs[spawn["call_id"]]).get("agent_id", "")
        except (json.JSONDecodeError, AttributeError):
            agent_id = ""
        args = {"targets": [agent_id], "timeout_ms": 20000}
        return Reply(
            [
                reasoning(state, "**Waiting**"),
                function_call(state, "wait_agent", args, "multi_agent_v1"),
            ]
        )
    args = {"message": "Sub-task: NOTOOL reply with a short greeting."}
    return Reply(
        [
            reasoning(state, "**Delegating**"),
            function_call(state, "spawn_agent", args, "multi_agent_v1"),
        ]
    )


def script_compact(state: Ledger, turn: Turn) -> Reply:
    if turn.outputs() or turn.saw(SUMMARY_BRIDGE):
        return (
            closing(state, turn)
            if turn.outputs()
            else Reply([message(state, "Done after compaction.")])
        )
    huge = state.claim_huge(str(turn.body.get("prompt_cache_key", "")))
    return Reply(
        [reasoning(state, "**Filling the context**"), shell_call(state, turn, "echo hello")],
        huge=huge,
    )


def single_shell(
    summary: str, cmd: str, verb: str = "finished", **extra: Any
) -> Callable[[Ledger, Turn], Reply]:
    """A script: one shell call, then a closing message quoting its output."""

    def run(state: Ledger, turn: Turn) -> Reply:
        if turn.outputs():
            return closing(state, turn, verb)
        return Reply([reasoning(state, summary), shell_call(state, turn, cmd, **extra)])

    return run


def script_multi(state: Ledger, turn: Turn) -> Reply:
    if turn.outputs():
        return closing(state, turn)
    calls = [shell_call(state, turn, "echo one"), shell_call(state, turn, "echo two")]
    return Reply([reasoning(state, "**Running two commands in parallel**"), *calls])


SKILL_NAME = "greeting"
SKILL_ROOT = re.compile(r"^- `(r\d+)` = `([^`]+)`$", re.MULTILINE)


def skill_dir(turn: Turn) -> tuple[str, bool]:
    """The greeting skill's directory, and whether Codex injected its SKILL.md into the turn
    (a ``<skill>`` message, for a prompt naming ``$greeting``); else the directory comes from
    the skills list of the developer message (its roots table and ``(file: rN/…)`` entry)."""
    for item in turn.after:
        text = message_text(item)
        if text.startswith("<skill>") and f"<name>{SKILL_NAME}</name>" in text:
            path = text.split("<path>", 1)[1].split("</path>", 1)[0]
            return os.path.dirname(path), True
    for item in turn.body.get("input", []):
        text = message_text(item) if isinstance(item, dict) else ""
        entry = re.search(rf"^- {SKILL_NAME}: .*\(file: (r\d+)/(\S+)/SKILL\.md\)$", text, re.M)
        if entry:
            roots = dict(SKILL_ROOT.findall(text))
            return f"{roots[entry.group(1)]}/{entry.group(2)}", False
    return f"$CODEX_HOME/skills/{SKILL_NAME}", False


def script_skill(state: Ledger, turn: Turn) -> Reply:
    """Reads the greeting skill's SKILL.md (unless Codex injected it), then its
    ``references/style.md``, then runs its ``scripts/greet.sh``; one command per reply."""
    directory, injected = skill_dir(turn)
    steps = [] if injected else [f"cat {directory}/SKILL.md"]
    steps += [f"cat {directory}/references/style.md", f"{directory}/scripts/greet.sh"]
    done = len(turn.outputs())
    if done >= len(steps):
        return closing(state, turn)
    return Reply([reasoning(state, "**Following the greeting skill**"), shell_call(state, turn, steps[done])])


def script_hang(state: Ledger, turn: Turn) -> Reply:
    return Reply([], hang=True)


def script_error(state: Ledger, turn: Turn) -> Reply:
    return Reply([], error=True)


# A nested `codex exec` run by a tool command. Its prompt is $NEST_NEXT (emptied for the nested
# Codex, so a second level runs no third), else one naming no keyword (SHELL).
NESTED_CODEX = (
    'NEST_NEXT= "$NESTED_CODEX" exec --dangerously-bypass-hook-trust --skip-git-repo-check '
    '"${NEST_NEXT:-please run echo hello}" </dev/null'
)

SCRIPTS = [
    ("HANG", script_hang),
    ("ERROR", script_error),
    ("NOTOOL", script_notool),
    ("SPAWN", script_spawn),
    ("SKILL", script_skill),
    ("COMPACT", script_compact),
    (
        "ESCALATE",
        single_shell(
            "**Asking for escalation**",
            "echo needs-approval > escalated.txt; echo escalated",
            sandbox_permissions="require_escalated",
            justification="mock asks for escalation",
        ),
    ),
    ("FAIL", single_shell("**Running a failing command**", "ls /nonexistent", verb="failed")),
    ("MULTI", script_multi),
    ("SLEEP", single_shell("**Running a long command**", "touch tool-started; sleep 30")),
    ("NEST", single_shell("**Running a nested Codex**", NESTED_CODEX, yield_time_ms=30000)),
    ("SHELL", single_shell("**Running a shell command**", "echo hello")),
]

GUARDIAN_ASSESSMENT = {
    "risk_level": "low",
    "user_authorization": "high",
    "outcome": "allow",
    "rationale": "Mock reviewer: the command only writes inside the workspace.",
}


def choose(state: Ledger, turn: Turn) -> tuple[str, Reply]:
    """Picks the script name and the reply for one request."""
    if turn.meta.get("request_kind") == "compaction" or COMPACTION_PROMPT in message_text(
        turn.after[-1] if turn.after else {}
    ):
        return "compaction", Reply(
            [message(state, "SUMMARY: the user asked COMPACT; `echo hello` ran and printed hello.")]
        )
    if turn.meta.get("thread_source") == "guardian_review":
        return "guardian_review", Reply([message(state, json.dumps(GUARDIAN_ASSESSMENT))])
    for keyword, script in SCRIPTS:
        if keyword in turn.prompt:
            return keyword.lower(), script(state, turn)
    return "shell", SCRIPTS[-1][1](state, turn)


def usage(n_items: int, reply: Reply) -> dict[str, Any]:
    """Deterministic usage numbers for a reply to a request with ``n_items`` input items."""
    input_tokens = HUGE_INPUT_TOKENS if reply.huge else 1200 + 37 * n_items
    if reply.after_shell:
        cached = input_tokens - 200
    elif n_items > 3:
        cached = input_tokens // 2
    else:
        cached = 0
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": 42,
        "output_tokens_details": {"reasoning_tokens": 16},
        "total_tokens": input_tokens + 42,
    }
