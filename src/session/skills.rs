//! Skills in the trace: the skills a thread may use ([`SkillCatalog`]), which skill a shell
//! command used ([`skill_use`]), and the spans and attributes that show it, with the latest
//! GenAI semantic-convention names (`gen_ai.skill.*`, the `execute_tool` skill refinements).
//!
//! - A command Codex parsed as reading a skill's `SKILL.md` **loads** the skill; reading any
//!   other file of its directory **reads a resource**; a command whose program (or the script an
//!   interpreter runs) lies in a skill's directory **runs** that resource. Only a command with a
//!   single part counts: one tool span is one skill operation. Paths come from Codex's own
//!   command parsing (`parsed_cmd`) or the program position of the command, never from
//!   anywhere else in its text.
//! - A skill Codex injected because the prompt named it (`$greeting`) is a load Codex made for
//!   the turn: an `execute_tool load_skill <name>` span under the turn, at the message's time,
//!   its arguments the skill's name and its result the instructions Codex gave the model. It
//!   has no `gen_ai.tool.call.id`: the model did not call it.
//! - The skill's name and resource are always exported; its description and source URI only
//!   with content capture on (they are content, and may be sensitive).

use super::attrs::{json_object, Attrs, SpanRole, TurnRef};
use super::build::{Builder, SpanParts};
use super::ids::SpanKey;
use crate::codex::rollout::CommandAction;
use crate::codex::skills::Skill;
use crate::span::genai as key;
use crate::span::{SpanKind, SpanRecord, SpanStatus};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The name Codex's own skill loads are given as a tool (`gen_ai.tool.name`).
pub(crate) const LOAD_SKILL_TOOL: &str = "load_skill";

/// Interpreters whose first argument is the script they run (`sh scripts/greet.sh`).
const INTERPRETERS: [&str; 8] = [
    "sh", "bash", "zsh", "python", "python3", "node", "ruby", "perl",
];

/// The skills one thread was offered or given, by name.
#[derive(Debug, Default)]
pub(crate) struct SkillCatalog(BTreeMap<String, Skill>);

impl SkillCatalog {
    /// Adds `skills`; a skill known by name is replaced by the newer description.
    pub(crate) fn learn(&mut self, skills: impl IntoIterator<Item = Skill>) {
        for skill in skills {
            self.0.insert(skill.name.clone(), skill);
        }
    }

    /// The skill whose directory holds `path`, with `path` relative to it.
    fn holding<'a>(&'a self, path: &'a str) -> Option<(&'a Skill, &'a str)> {
        self.0
            .values()
            .filter_map(|skill| Some((skill, skill.resource(path)?)))
            .max_by_key(|(skill, _)| skill.dir().len())
    }
}

/// What a tool call did with a skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SkillOperation {
    /// It read the skill's `SKILL.md`.
    Load,
    /// It read another file of the skill (the path relative to the skill's directory).
    ReadResource(String),
    /// It ran a file of the skill, with this program.
    Run {
        /// The file, relative to the skill's directory.
        resource: String,
        /// The program's file name (`greet.sh`, or `python3` for `python3 scripts/x.py`).
        executable: String,
    },
}

/// A tool call's use of a skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SkillUse {
    pub(crate) skill: Skill,
    pub(crate) operation: SkillOperation,
}

/// The skill a command with these parts used, if it used one (see the module docs).
pub(crate) fn skill_use(catalog: &SkillCatalog, actions: &[CommandAction]) -> Option<SkillUse> {
    let [action] = actions else { return None };
    let (skill, operation) = match action {
        CommandAction::Read { path } => {
            let (skill, resource) = catalog.holding(path)?;
            let operation = match resource {
                "SKILL.md" => SkillOperation::Load,
                other => SkillOperation::ReadResource(other.to_owned()),
            };
            (skill, operation)
        }
        CommandAction::Other { cmd } => {
            let (program, script) = program_and_script(cmd)?;
            let (skill, resource) = catalog.holding(script)?;
            let executable = program.rsplit('/').next().unwrap_or(program).to_owned();
            let resource = resource.to_owned();
            (
                skill,
                SkillOperation::Run {
                    resource,
                    executable,
                },
            )
        }
    };
    Some(SkillUse {
        skill: skill.clone(),
        operation,
    })
}

/// The program of a command and the file it runs: the program itself, or an interpreter's
/// first argument.
fn program_and_script(cmd: &str) -> Option<(&str, &str)> {
    let mut words = cmd.split_whitespace();
    let program = words.next()?;
    let name = program.rsplit('/').next().unwrap_or(program);
    match INTERPRETERS.contains(&name) {
        true => Some((program, words.next()?)),
        false => Some((program, program)),
    }
}

impl SkillUse {
    /// What the tool span's name gains: the skill, and the resource when there is one
    /// (`greeting references/style.md`).
    pub(crate) fn name_suffix(&self) -> String {
        match &self.operation {
            SkillOperation::Load => self.skill.name.clone(),
            SkillOperation::ReadResource(resource) | SkillOperation::Run { resource, .. } => {
                format!("{} {resource}", self.skill.name)
            }
        }
    }

    /// The `gen_ai.skill.*` (and, for a run, `process.*`) attributes of the tool span.
    pub(crate) fn add_attrs(&self, attrs: &mut Attrs, exit_code: Option<i64>) {
        skill_attrs(attrs, &self.skill);
        match &self.operation {
            SkillOperation::Load => {}
            SkillOperation::ReadResource(resource) => {
                attrs.str(key::SKILL_RESOURCE_NAME, resource.clone());
            }
            SkillOperation::Run {
                resource,
                executable,
            } => {
                attrs
                    .str(key::SKILL_RESOURCE_NAME, resource.clone())
                    .str(key::PROCESS_EXECUTABLE_NAME, executable.clone());
                if let Some(code) = exit_code {
                    attrs.int(key::PROCESS_EXIT_CODE, code);
                }
            }
        }
    }
}

/// The skill's own attributes: name, description and source (its directory as a `file:` URI).
fn skill_attrs(attrs: &mut Attrs, skill: &Skill) {
    attrs
        .str(key::SKILL_NAME, skill.name.clone())
        .opt_str(key::SKILL_DESCRIPTION, skill.description.clone())
        .str(key::SKILL_SOURCE_URI, format!("file://{}", skill.dir()));
}

/// A skill Codex loaded into a turn because its prompt named it.
#[derive(Debug, Clone)]
pub(crate) struct SkillLoad {
    pub(crate) skill: Skill,
    /// The message Codex gave the model: the skill's `SKILL.md` in a `<skill>` element.
    pub(crate) instructions: String,
    pub(crate) at: Option<SystemTime>,
}

impl Builder<'_> {
    /// `execute_tool load_skill <name>` under `turn`: a load Codex made itself, at `fallback`
    /// when the rollout gave the message no time.
    pub(crate) fn skill_load_span(
        &self,
        turn: TurnRef<'_>,
        load: &SkillLoad,
        fallback: SystemTime,
    ) -> SpanRecord {
        let at = load.at.unwrap_or(fallback);
        let arguments = json!({ "name": load.skill.name });
        let mut attrs = Attrs::default();
        attrs
            .str(key::OPERATION_NAME, "execute_tool")
            .str(key::TOOL_NAME, LOAD_SKILL_TOOL)
            .str(key::TOOL_TYPE, "extension")
            .str(key::TOOL_CALL_ARGUMENTS, arguments.to_string())
            .str(key::TOOL_CALL_RESULT, load.instructions.clone())
            .str(key::CONVERSATION_ID, self.session_id)
            .turn(Some(turn))
            .role(
                SpanRole::Tool,
                &format!("{LOAD_SKILL_TOOL} {}", load.skill.name),
            )
            .io(
                Some(arguments),
                Some(json_object(&load.instructions, "instructions")),
            );
        skill_attrs(&mut attrs, &load.skill);
        self.span(SpanParts {
            key: SpanKey::SkillLoad(turn.id, &load.skill.name),
            parent: Some(self.id(SpanKey::Turn(turn.id))),
            name: format!("execute_tool {LOAD_SKILL_TOOL} {}", load.skill.name),
            kind: SpanKind::Internal,
            start: at,
            end: at,
            attrs,
            events: Vec::new(),
            status: SpanStatus::Unset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = "/home/dev/.codex/skills/greeting";

    fn catalog() -> SkillCatalog {
        let mut catalog = SkillCatalog::default();
        catalog.learn([
            Skill {
                name: "greeting".into(),
                description: Some("Greets the user.".into()),
                file: format!("{DIR}/SKILL.md"),
            },
            Skill {
                name: "imagegen".into(),
                description: None,
                file: "/home/dev/.codex/skills/.system/imagegen/SKILL.md".into(),
            },
        ]);
        catalog
    }

    fn read(path: &str) -> CommandAction {
        CommandAction::Read { path: path.into() }
    }

    fn other(cmd: &str) -> CommandAction {
        CommandAction::Other { cmd: cmd.into() }
    }

    fn operation(actions: &[CommandAction]) -> Option<(String, SkillOperation)> {
        skill_use(&catalog(), actions).map(|u| (u.skill.name, u.operation))
    }

    #[test]
    fn reading_skill_md_loads_the_skill() {
        assert_eq!(
            operation(&[read(&format!("{DIR}/SKILL.md"))]),
            Some(("greeting".into(), SkillOperation::Load))
        );
    }

    #[test]
    fn reading_another_file_of_the_skill_reads_a_resource() {
        assert_eq!(
            operation(&[read(&format!("{DIR}/references/style.md"))]),
            Some((
                "greeting".into(),
                SkillOperation::ReadResource("references/style.md".into())
            ))
        );
    }

    #[test]
    fn running_a_file_of_the_skill_runs_it_directly_or_through_an_interpreter() {
        let run = |executable: &str| SkillOperation::Run {
            resource: "scripts/greet.sh".into(),
            executable: executable.into(),
        };
        assert_eq!(
            operation(&[other(&format!("{DIR}/scripts/greet.sh --loud"))]),
            Some(("greeting".into(), run("greet.sh")))
        );
        assert_eq!(
            operation(&[other(&format!("/bin/sh {DIR}/scripts/greet.sh"))]),
            Some(("greeting".into(), run("sh")))
        );
    }

    #[test]
    fn other_commands_and_compound_commands_use_no_skill() {
        assert_eq!(operation(&[read("/home/dev/project/README.md")]), None);
        assert_eq!(operation(&[other("echo hello")]), None);
        // A skill path elsewhere than the program position is not a run of it.
        assert_eq!(
            operation(&[other(&format!("echo {DIR}/scripts/greet.sh"))]),
            None
        );
        let two = [read(&format!("{DIR}/SKILL.md")), other("echo hi")];
        assert_eq!(operation(&two), None);
        assert_eq!(operation(&[]), None);
    }

    #[test]
    fn the_span_name_gains_the_skill_and_its_resource() {
        let skill = catalog().0["greeting"].clone();
        let load = SkillUse {
            skill: skill.clone(),
            operation: SkillOperation::Load,
        };
        assert_eq!(load.name_suffix(), "greeting");
        let read = SkillUse {
            skill,
            operation: SkillOperation::ReadResource("references/style.md".into()),
        };
        assert_eq!(read.name_suffix(), "greeting references/style.md");
    }

    #[test]
    fn a_run_reports_its_program_and_exit_code() {
        let run = SkillUse {
            skill: catalog().0["greeting"].clone(),
            operation: SkillOperation::Run {
                resource: "scripts/greet.sh".into(),
                executable: "greet.sh".into(),
            },
        };
        let mut attrs = Attrs::default();
        run.add_attrs(&mut attrs, Some(3));
        assert_eq!(attrs.get_str(key::SKILL_NAME), Some("greeting"));
        assert_eq!(
            attrs.get_str(key::SKILL_RESOURCE_NAME),
            Some("scripts/greet.sh")
        );
        assert_eq!(
            attrs.get_str(key::PROCESS_EXECUTABLE_NAME),
            Some("greet.sh")
        );
        assert_eq!(
            attrs.get_str(key::SKILL_SOURCE_URI),
            Some("file:///home/dev/.codex/skills/greeting")
        );
        assert!(attrs
            .0
            .iter()
            .any(|(k, v)| k == key::PROCESS_EXIT_CODE && *v == crate::span::AttrValue::Int(3)));
    }
}
