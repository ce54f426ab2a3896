//! Skills of a thread: the skills it may use ([`SkillCatalog`]), which skill a shell command
//! used ([`skill_use`]) and the skills Codex loaded into a turn ([`SkillLoad`]). The spans that
//! show them (`gen_ai.skill.*`, the `execute_tool` skill refinements of the latest GenAI
//! semantic conventions) are built by [`crate::session::build`].
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

use crate::codex::rollout::CommandAction;
use crate::codex::skills::Skill;
use std::collections::BTreeMap;
use std::time::SystemTime;

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
            let (executable, script) = program_and_script(cmd)?;
            let (skill, resource) = catalog.holding(script)?;
            let (executable, resource) = (executable.to_owned(), resource.to_owned());
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

/// The file name of a command's program and the file it runs: the program itself, or an
/// interpreter's first argument.
fn program_and_script(cmd: &str) -> Option<(&str, &str)> {
    let mut words = cmd.split_whitespace();
    let program = words.next()?;
    let name = program.rsplit('/').next().unwrap_or(program);
    match INTERPRETERS.contains(&name) {
        true => Some((name, words.next()?)),
        false => Some((name, program)),
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
}

/// A skill Codex loaded into a turn because its prompt named it.
#[derive(Debug, Clone)]
pub(crate) struct SkillLoad {
    pub(crate) skill: Skill,
    /// The message Codex gave the model: the skill's `SKILL.md` in a `<skill>` element.
    pub(crate) instructions: String,
    pub(crate) at: Option<SystemTime>,
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
}
