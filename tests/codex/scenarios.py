"""scenarios.py: the capture scenarios for capture.py (prompt, flags, extra hooks, observations).

Contract: ``SCENARIOS`` maps a fixture directory name to a ``Scenario``. The prompt's keyword
selects the mock's script (see mock_responses.py). ``extra_hooks`` are handler groups added
after the 12 capture handlers (their payloads are not captured). ``interrupt_after`` is empty,
``"hang-request"`` (SIGINT once the mock logged the HANG request) or ``"tool-started"`` (SIGINT
once the SLEEP command created ``tool-started`` in the workspace). ``skills`` names directories
of ``tests/fixtures/skills/`` copied into ``$CODEX_HOME/skills/`` before Codex starts. ``notes`` is the
hand-written account of what the 0.169 capture showed, pasted into SOURCE.md under "What
happened"; ``notes_0171`` is the same for the 0.171 capture; other releases get their
release's notes from ``releases.py`` (``notes_for`` picks by version).
"""

from __future__ import annotations

from dataclasses import dataclass

from releases import RELEASE_NOTES

ALLOW_PERMISSION = (
    "cat >/dev/null; printf '%s' "
    """'{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow"}}}'"""
)
BLOCK_STOP_ONCE = (
    "payload=$(cat); case \"$payload\" in *'\"stop_hook_active\":false'*) printf '%s' "
    """'{"decision":"block","reason":"Before you stop, say goodbye."}';; esac"""
)
DENY_PRE_TOOL_USE = (
    "cat >/dev/null; printf '%s' "
    """'{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny","""
    """"permissionDecisionReason":"the mock policy forbids it"}}'"""
)

SKILL_NAMED_NOTES = """\
The prompt names the skill (`$greeting`), so Codex loaded it itself; the mock then read the
skill's reference and ran its script (SKILL script).

- Rollout: the developer message of the skills instructions (`content_item_kinds`
  `host_skills.instructions`) lists every skill as `- <name>: <description> (file:
  r0/greeting/SKILL.md)` with a roots table (`- \`r0\` = \`/home/dev/.codex/skills\``);
  `world_state.state.host_skills.body` holds the same list. After the prompt, Codex wrote a
  user message `<skill>\\n<name>greeting</name>\\n<path>/home/dev/.codex/skills/greeting/SKILL.md</path>\\n`
  followed by the whole `SKILL.md` (`content_item_kinds` `skills.selected_skill_instructions`).
  No event or hook says a skill was loaded: that message is the only record.
- The two commands (`cat …/greeting/references/style.md`, `…/greeting/scripts/greet.sh`) are
  ordinary `exec_command` calls; their `item_completed` `CommandExecution` carries
  `parsed_cmd`: `{"type":"read","name":"style.md","path":"/home/dev/.codex/skills/greeting/references/style.md"}`
  for the first, `{"type":"unknown","cmd":"…/scripts/greet.sh"}` for the second.
- Hooks: nothing about skills; PreToolUse/PostToolUse name the tool `Bash` with the command.
"""

SKILL_IMPLICIT_NOTES = """\
The prompt does not name the skill, so Codex injected nothing: the mock found the skill's
`SKILL.md` in the skills list of the developer message (roots table + `(file: r0/…)`), read it
with `cat`, then read `references/style.md` and ran `scripts/greet.sh` (SKILL script), one
command per reply.

- Rollout: no `<skill>` message. The `item_completed` `CommandExecution` of the first command
  has `parsed_cmd` `[{"type":"read","name":"SKILL.md","path":"/home/dev/.codex/skills/greeting/SKILL.md"}]`:
  Codex's own parse of the command is the record that the model loaded the skill.
- Hooks: nothing about skills.
"""


@dataclass(frozen=True)
class Scenario:
    """One `codex exec` run to capture."""

    name: str
    title: str
    prompt: str
    flags: tuple[str, ...] = ()
    extra_hooks: tuple[tuple[str, str], ...] = ()
    extra_hooks_doc: str = ""
    interrupt_after: str = ""
    notes: str = ""
    notes_0171: str = ""
    skills: tuple[str, ...] = ()


def notes_for(scenario: Scenario, version: str) -> str:
    """The notes for a ``codex --version`` line (``codex-cli 0.171.0``): the scenario's own
    for 0.169 and 0.171, the release's (``releases.RELEASE_NOTES``) for any other."""
    minor = ".".join(version.removeprefix("codex-cli ").split(".")[:2])
    if minor == "0.171":
        return scenario.notes_0171
    if minor == "0.169":
        return scenario.notes
    return RELEASE_NOTES.get(minor, "")


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            name="shell",
            title="one `codex exec` with one shell tool call",
            prompt="please run echo hello",
        ),
        Scenario(
            name="subagent",
            title="one `codex exec` that spawns a sub-agent and waits for it",
            prompt="SPAWN a helper agent please",
        ),
        Scenario(
            name="compaction",
            title="auto compaction in the middle of a turn",
            prompt="COMPACT: please run echo hello",
            flags=("-c", "model_auto_compact_token_limit=20000"),
            notes="""\
The mock's first reply (reasoning + `exec_command` `echo hello`) reported 250,000 input
tokens, far above `model_auto_compact_token_limit=20000`. After the command ran, Codex compacted
**before** sampling again, inside the same turn:

- It sent a `/responses` request with **no tools** and
  `x-codex-turn-metadata.request_kind:"compaction"`, whose input was the whole history plus the
  user message "You are performing a CONTEXT CHECKPOINT COMPACTION…"; the mock answered a
  summary message (second model call).
- The rollout records that call like any other (an assistant `message` and a
  `token_usage_record`), but **without** an `item_completed` `AgentMessage` for the summary. Then
  come `compacted` (its `compaction_response_id` is the summary call's `response_id`, its
  `replacement_history` is the developer skills message, the environment context, the original
  prompt and the "Another language model started to solve this problem…" bridge),
  `world_state`, a second `turn_context` for the **same** `turn_id`, `thread_settings_applied`,
  a `token_count` whose `last_token_usage` is all zero except `total_tokens` (an estimate of the
  new context), and `item_completed` `ContextCompaction`.
- The `token_count` of the first call was written **twice** in a row (after the tool output);
  only `token_usage_record` is one per call.
- Hooks: PostToolUse → PreCompact (`trigger:"auto"`, no `permission_mode`) → PostCompact →
  SessionStart (`source:"compact"`, no `turn_id`) → Stop. PreCompact/PostCompact carry the
  turn's `turn_id`.
- The third request carried only the replacement history (no function call or output), and
  the mock closed the turn with `Done after compaction.`. `tokens used` counts all three calls,
  the 250,000 included.
""",
        ),
        Scenario(
            name="interrupt",
            title="SIGINT while the model stream hangs",
            prompt="HANG: answer slowly",
            interrupt_after="hang-request",
            notes="""\
The mock answered the only `/responses` request with `response.created` and then only
`: keep-alive` comments. Once the request had reached the mock, `capture.py` sent SIGINT to
`codex`, which exited with status 1 and printed `turn interrupted` (no final message on stdout,
no `tokens used` line).

- Hooks: SessionStart → UserPromptSubmit → Interrupt (common fields only) → SessionEnd. No Stop.
- Rollout: after the prompt, a `token_count` with `info: null` (no usage yet), the user message
  `<turn_aborted>…</turn_aborted>` that Codex injects (`content_item_kinds`
  `generic.turn_aborted`), then `event_msg` `turn_aborted` (`reason:"interrupted"`,
  `duration_ms`). No `task_complete`, no `token_usage_record`: the interrupted call never
  completed, so `model-calls.json` is an empty list even though the mock had sent
  `response.created` with a response id.
""",
        ),
        Scenario(
            name="interrupt-tool",
            title="SIGINT while a shell command runs",
            prompt="SLEEP: run a long command",
            interrupt_after="tool-started",
            notes="""\
The mock's first reply asked for `exec_command` `touch tool-started; sleep 30`. Once the command
had created `tool-started` in the workspace, `capture.py` sent SIGINT to `codex`, which exited
with status 1 (`turn interrupted`); the `sleep` did not outlive it.

- Hooks: SessionStart → UserPromptSubmit → PreToolUse → Interrupt → SessionEnd. **No
  PostToolUse** for the interrupted command, and no Stop: a tool span opened by PreToolUse must
  be closed by Interrupt/SessionEnd.
- Rollout: the first call's `token_usage_record`, then a `function_call_output` for the call
  with the text `Wall time: … seconds\\naborted by user`, the injected `<turn_aborted>` user
  message and `turn_aborted`. In this capture **no** `item_completed` `CommandExecution` was
  written for the aborted command; in a trial run it came **after** `turn_aborted`, with
  `status:"failed"`, `exit_code: -1` and empty output. Writing it races with Codex's exit.
- `tokens used` was printed (716 = 1348 − 674 + 42) even though the turn was aborted.
""",
        ),
        Scenario(
            name="model-error",
            title="the model request fails with HTTP 400",
            prompt="ERROR: this request fails",
            notes="""\
The mock answered the `/responses` request with HTTP 400 and
`{"error":{"type":"invalid_request_error","code":"mock_scripted_error",…}}`. With
`request_max_retries = 0` Codex did not retry: it printed `ERROR: <body>` twice on stderr and
exited with status 1.

- Hooks: SessionStart → UserPromptSubmit → SessionEnd. **No Stop** and no Interrupt for a
  failed turn.
- Rollout: the turn ends with `task_complete` whose `last_agent_message` is null and which
  carries `error: {message: <the response body>, codex_error_info: "other"}`. No
  `token_usage_record`; `model-calls.json` is empty.
""",
        ),
        Scenario(
            name="permission",
            title="an escalated shell command allowed by a PermissionRequest hook",
            prompt="ESCALATE: write escalated.txt outside the sandbox",
            flags=("--approve-for-me",),
            extra_hooks=(("PermissionRequest", ALLOW_PERMISSION),),
            extra_hooks_doc=(
                "A second PermissionRequest handler (no matcher) printed "
                '`{"hookSpecificOutput":{"hookEventName":"PermissionRequest","decision":{"behavior":"allow"}}}`.'
            ),
            notes="""\
`--approve-for-me` switched the banner to `approval: on-request` and
`sandbox: workspace-write`. The mock's reply asked for `exec_command` with
`"sandbox_permissions": "require_escalated"` and `"justification": "mock asks for escalation"`.

- Every payload has `permission_mode:"default"` (not `bypassPermissions`).
- Hooks: PreToolUse → PermissionRequest → PostToolUse. PermissionRequest has
  `tool_input:{command, description}` with the justification as `description`, and no
  `tool_use_id`; it fires after PreToolUse for the same call.
- Both PermissionRequest handlers ran (stderr shows `hook: PermissionRequest` twice); the second
  one's `allow` let the command run at once: no auto-review model call, so the model calls are
  the same two as in a plain shell run. Nothing in the rollout records the approval itself.
""",
        ),
        Scenario(
            name="permission-review",
            title="an escalated shell command decided by Codex's auto-reviewer (no hook decision)",
            prompt="ESCALATE: write escalated.txt outside the sandbox",
            flags=("--approve-for-me",),
            notes="""\
Same prompt and flags as `permission`, but no handler returned a decision, so Codex asked
its auto-reviewer ("guardian"). The mock answered that request with the JSON assessment
`{"risk_level":"low","user_authorization":"high","outcome":"allow","rationale":…}`, and the
command ran.

- The review is a **separate thread with its own rollout file** (the second file):
  `session_meta.source = {"subagent":{"other":"guardian"}}`, `thread_source:"guardian_review"`,
  `parent_thread_id` = the root thread, `multi_agent_version:"disabled"`; its turn has
  `turn_trigger:"guardian_review"`, `parent_turn_id` and `root_turn_id` = the root turn, and one
  `token_usage_record` (`session_id` = the root thread).
- Its request carried `x-openai-subagent: guardian`, `x-codex-parent-thread-id`, metadata
  `thread_source:"guardian_review"`, `subagent_kind:"guardian"`, `request_kind:"turn"`,
  `sandbox_mode:"read-only"`, and a `text.format` JSON schema with `risk_level`,
  `user_authorization`, `outcome` (the only required key) and `rationale`.
- **No hook fired inside the review thread** (no UserPromptSubmit, no Subagent* events); the
  hook sequence is the same as in `permission`.
- `tokens used` (958) excludes the review call, like sub-agent calls.
""",
        ),
        Scenario(
            name="failing-command",
            title="a shell command that exits non-zero",
            prompt="FAIL: list a directory that does not exist",
            notes="""\
The mock's reply asked for `exec_command` `ls /nonexistent`, which exited with code 2.

- PostToolUse still fired, with `tool_response` = the raw output
  (`ls: cannot access '/nonexistent': No such file or directory\\n`) and **no exit code or
  error flag**: a hook cannot tell that the command failed.
- The rollout does: `item_completed` `CommandExecution` has `status:"failed"` and
  `exit_code: 2`, and the model-facing `function_call_output` says
  `Process exited with code 2`.
- The turn itself completed normally (Stop, `task_complete`, exit status 0).
""",
        ),
        Scenario(
            name="parallel-tools",
            title="two shell calls in one model reply",
            prompt="MULTI: run echo one and echo two in parallel",
            notes="""\
The mock's first reply held two `exec_command` calls (`echo one`, `echo two`) in one response.
Codex ran them concurrently.

- Hooks: both PreToolUse (in call order) fired before either PostToolUse; each PostToolUse
  fired as its command finished. In this capture the two PostToolUse came in the reverse of
  the call order (`echo two` first; other runs had call order), so match them by
  `tool_use_id`, not by position.
- Rollout: both `function_call`s, one `token_usage_record` for the reply, then per command an
  `item_completed` `CommandExecution` followed by its `function_call_output`, then the second
  call.
- The `CommandExecution` timings are not comparable run times: in this and three trial runs
  one of the two `echo`s reported a `duration` of microseconds to 2 ms (`started_at_ms` equal
  or close to `completed_at_ms`) and the other 80–110 ms, whichever was listed first.
""",
        ),
        Scenario(
            name="stop-block",
            title="a Stop hook that blocks once",
            prompt="NOTOOL: say hi",
            extra_hooks=(("Stop", BLOCK_STOP_ONCE),),
            extra_hooks_doc=(
                "A second Stop handler printed "
                '`{"decision":"block","reason":"Before you stop, say goodbye."}` when its payload '
                'had `"stop_hook_active":false`, and nothing otherwise.'
            ),
            notes="""\
The mock answered with a plain message. The second Stop handler blocked the first Stop.

- Hooks: Stop (`stop_hook_active:false`) → Stop (`stop_hook_active:true`) in the **same turn**
  (same `turn_id`); `last_assistant_message` is the first answer, then the second.
- Rollout: after the first answer and its `token_usage_record`, a user message
  `<hook_prompt hook_run_id="stop:<n>:/home/dev/.codex/config.toml">Before you stop, say
  goodbye.</hook_prompt>` and an `item_completed` of type `HookPrompt`, then a second model call
  in the same turn and a single `task_complete`.
- stdout printed only the second answer; `tokens used` counts both calls.
""",
        ),
        Scenario(
            name="pretool-deny",
            title="a PreToolUse hook that denies the shell command",
            prompt="please run echo hello",
            extra_hooks=(("PreToolUse", DENY_PRE_TOOL_USE),),
            extra_hooks_doc=(
                "A second PreToolUse handler (no matcher) printed "
                '`{"hookSpecificOutput":{"hookEventName":"PreToolUse","permissionDecision":"deny",'
                '"permissionDecisionReason":"the mock policy forbids it"}}`.'
            ),
            notes="""\
The mock asked for `exec_command` `echo hello`; the second PreToolUse handler denied it.

- Hooks: PreToolUse → (no PostToolUse) → Stop. The command never ran.
- Rollout: `function_call`, then a `function_call_output` with
  `Command blocked by PreToolUse hook: the mock policy forbids it. Command: echo hello` and **no**
  `item_completed` `CommandExecution`. The model was sampled again with that output and
  closed the turn normally.
""",
        ),
        Scenario(
            name="skill",
            title="a prompt that names a skill, and the model reading its files",
            prompt="$greeting SKILL: greet the user the way the greeting skill says",
            skills=("greeting",),
            notes=SKILL_NAMED_NOTES,
            notes_0171=SKILL_NAMED_NOTES,
        ),
        Scenario(
            name="skill-implicit",
            title="the model loading a skill by itself: reading its SKILL.md, a reference, running its script",
            prompt="SKILL: greet the user the way the greeting skill says",
            skills=("greeting",),
            notes=SKILL_IMPLICIT_NOTES,
            notes_0171=SKILL_IMPLICIT_NOTES,
        ),
    ]
}
