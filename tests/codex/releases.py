"""releases.py: what a capture on a release other than 0.169 and 0.171 showed, per release.

Contract: ``RELEASE_NOTES`` maps ``<major>.<minor>`` to the hand-written account of what the
captures of that release (shell, interrupt, compaction, all from ``capture.py`` with hooks in
``config.toml``) showed: which hooks ran, and what the rollout records. ``scenarios.notes_for``
pastes it into SOURCE.md under "What happened" for every scenario of that release.
"""

from __future__ import annotations

_OLD_ROLLOUT = """\
- Rollout: `session_meta` has `id` but **no `session_id`**; usage only in `event_msg`
  `token_count` (no `token_usage_record`, so **no response ids**: a call's id comes from its
  position); `event_msg` `user_message` for the prompt; a compaction writes `compacted` with the
  summary text in `message` and `event_msg` `context_compacted`."""

RELEASE_NOTES: dict[str, str] = {
    "0.125": f"""\
Codex 0.125 has no hook trust: `codex exec` has no `--dangerously-bypass-hook-trust` (passing
it exits 2, so `capture.py` leaves it out) and ran the `config.toml` handlers as they were.

- Hooks that ran: SessionStart, UserPromptSubmit, PreToolUse, PostToolUse and Stop. **No
  SessionEnd, Interrupt, PreCompact or PostCompact** (the interrupt capture has only
  SessionStart and UserPromptSubmit; the compaction capture has no compaction hook).
{_OLD_ROLLOUT}
- The `token_count` of a call after a tool output is written twice in a row; the compaction
  summary call has no assistant `message` item (its text is only in `compacted.message`).
- The mock saw no thread id in `x-codex-turn-metadata` (`thread_id: null` in model-calls.json)
  and no `request_kind`.
- Codex printed `ERROR codex_core::session: failed to record rollout items: thread … not
  found` on exit; the rollout is complete all the same.
""",
    "0.130": f"""\
Codex 0.130 trusts a hook only through `[hooks.state]` (`trusted_hash`), and its `codex exec`
has no `--dangerously-bypass-hook-trust` (so `capture.py` leaves it out): with the
`config.toml` handlers untrusted, **no hook ran** and `hooks.ndjson` is empty. The rollout
alone is the record (`codex-otel replay --transcripts`).

{_OLD_ROLLOUT}
- The `token_count` of a call after a tool output is written twice in a row; the compaction
  summary call has no assistant `message` item (its text is only in `compacted.message`).
- The mock saw the thread id but no `request_kind` in `x-codex-turn-metadata`.
""",
    "0.140": f"""\
Codex 0.140 has `--dangerously-bypass-hook-trust`, but **no hook ran** (nor does one through
`hooks.json` or a plugin on this release): `hooks.ndjson` is empty. The rollout alone is the
record (`codex-otel replay --transcripts`).

{_OLD_ROLLOUT}
- One `token_count` per call; the compaction summary is an assistant `message` item.
- The mock saw the thread id and `request_kind` (`turn`, `compaction`).
""",
    "0.150": """\
The `config.toml` handlers ran with `--dangerously-bypass-hook-trust`: the 12 documented
events, as on 0.169 (SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, PreCompact,
PostCompact, SessionStart `compact`, Stop, Interrupt, SessionEnd in these captures); the
PreModelRequest and PostModelRequest handlers were accepted but never ran.

- Rollout: `session_meta` has `session_id`; usage only in `event_msg` `token_count` (**no
  `token_usage_record`, no response ids**); no `event_msg` `user_message`; a compaction writes
  `compacted` (no `context_compacted` event).
""",
    "0.160": """\
The `config.toml` handlers ran with `--dangerously-bypass-hook-trust`: the 12 documented
events, as on 0.169; the PreModelRequest and PostModelRequest handlers were accepted but never
ran.

- Rollout: as on 0.169: `session_meta` has `session_id`, one `token_usage_record` per call
  (with its response id) besides `token_count`.
""",
}
