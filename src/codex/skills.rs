//! What Codex writes about skills: the catalog of its skills instructions and the `SKILL.md` it
//! injects for a skill the prompt names.
//!
//! - **Catalog**: a developer message (`<skills_instructions>`, provenance
//!   `host_skills.instructions`) lists every available skill as
//!   `- <name>: <description> (file: <path>)`. Releases up to 0.150 give absolute paths;
//!   0.160 and later give short paths (`r0/greeting/SKILL.md`) and a roots table
//!   (``- `r0` = `/home/dev/.codex/skills` ``) to expand them with ([`catalog`]).
//! - **Injection**: when a prompt names a skill (`$greeting`), Codex adds a user message
//!   `<skill>\n<name>…</name>\n<path>…/SKILL.md</path>\n<the SKILL.md>\n</skill>` (provenance
//!   `skills.selected_skill_instructions`) to the turn ([`injected`]); the description then comes
//!   from the file's front matter.
//!
//! Pure text parsing: anything that does not have these shapes yields nothing.

/// One skill: its name, what it says it is for, and its `SKILL.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    /// The skill's name (`greeting`).
    pub name: String,
    /// Its description, when Codex wrote one.
    pub description: Option<String>,
    /// The absolute path of its `SKILL.md`.
    pub file: String,
}

impl Skill {
    /// The skill's directory: where its `SKILL.md`, references and scripts live.
    pub fn dir(&self) -> &str {
        self.file
            .rsplit_once('/')
            .map_or(self.file.as_str(), |(dir, _)| dir)
    }

    /// `path` relative to the skill's directory, when it lies inside it (`references/style.md`).
    pub fn resource<'a>(&self, path: &'a str) -> Option<&'a str> {
        let relative = path.strip_prefix(self.dir())?.strip_prefix('/')?;
        let clean = !relative.is_empty() && !relative.split('/').any(|part| part == "..");
        clean.then_some(relative)
    }
}

/// The skills a skills-instructions message lists; empty for any other text.
pub fn catalog(text: &str) -> Vec<Skill> {
    if !text.contains("<skills_instructions>") && !text.contains("## Skills") {
        return Vec::new();
    }
    let roots: Vec<(&str, &str)> = text.lines().filter_map(root_entry).collect();
    text.lines()
        .filter_map(|line| skill_entry(line, &roots))
        .collect()
}

/// A roots-table line: ``- `r0` = `/home/dev/.codex/skills` `` → (`r0`, the directory).
fn root_entry(line: &str) -> Option<(&str, &str)> {
    let rest = line.trim().strip_prefix("- `")?;
    let (root, rest) = rest.split_once("` = `")?;
    let dir = rest.strip_suffix('`')?;
    Some((root, dir))
}

/// A catalog line: `- greeting: Greets the user. (file: r0/greeting/SKILL.md)`.
fn skill_entry(line: &str, roots: &[(&str, &str)]) -> Option<Skill> {
    let rest = line.trim().strip_prefix("- ")?;
    let (name, rest) = rest.split_once(": ")?;
    let (description, file) = rest.strip_suffix(')')?.rsplit_once(" (file: ")?;
    let file = match file.split_once('/') {
        _ if file.starts_with('/') => file.to_owned(),
        Some((root, tail)) => {
            let dir = roots.iter().find(|(name, _)| *name == root)?.1;
            format!("{dir}/{tail}")
        }
        None => return None,
    };
    let plain_name = !name.is_empty() && !name.contains(char::is_whitespace);
    plain_name.then(|| Skill {
        name: name.to_owned(),
        description: Some(description.trim().to_owned()).filter(|d| !d.is_empty()),
        file,
    })
}

/// The skill of an injected `<skill>` message; `None` for any other text.
pub fn injected(text: &str) -> Option<Skill> {
    let body = text
        .trim()
        .strip_prefix("<skill>")?
        .strip_suffix("</skill>")?;
    let name = between(body, "<name>", "</name>")?;
    let file = between(body, "<path>", "</path>")?;
    Some(Skill {
        name: name.trim().to_owned(),
        description: front_matter_description(body),
        file: file.trim().to_owned(),
    })
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(open)?;
    Some(rest.split_once(close)?.0)
}

/// `description:` of a `SKILL.md`'s front matter (the block between the first two `---`).
fn front_matter_description(body: &str) -> Option<String> {
    let (_, rest) = body.split_once("---\n")?;
    let (front, _) = rest.split_once("\n---")?;
    front
        .lines()
        .find_map(|line| line.strip_prefix("description:"))
        .map(|d| d.trim().trim_matches('"').to_owned())
        .filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog as Codex 0.171.0 wrote it (tests/fixtures/codex-0.171/skill).
    const ROOTS_CATALOG: &str = "<skills_instructions>\n## Skills\nA skill is a set of local instructions.\n### Skill roots\n- `r0` = `/home/dev/.codex/skills`\n- `r1` = `/home/dev/.codex/skills/.system`\n### Available skills\n- skill-creator: Create or update a Codex skill. (file: r1/skill-creator/SKILL.md)\n- greeting: Greets the user in the house style. Use when asked to greet someone. (file: r0/greeting/SKILL.md)\n</skills_instructions>";

    /// The catalog as Codex 0.150.0 wrote it: absolute paths, no roots.
    const ABSOLUTE_CATALOG: &str = "<skills_instructions>\n## Skills\n### Available skills\n- imagegen: Generate images (file: /home/dev/.codex/skills/.system/imagegen/SKILL.md)\n</skills_instructions>";

    fn greeting() -> Skill {
        Skill {
            name: "greeting".into(),
            description: Some(
                "Greets the user in the house style. Use when asked to greet someone.".into(),
            ),
            file: "/home/dev/.codex/skills/greeting/SKILL.md".into(),
        }
    }

    #[test]
    fn a_catalog_with_roots_expands_each_short_path() {
        let skills = catalog(ROOTS_CATALOG);
        assert_eq!(skills.len(), 2);
        assert_eq!(
            skills[0].file,
            "/home/dev/.codex/skills/.system/skill-creator/SKILL.md"
        );
        assert_eq!(skills[1], greeting());
    }

    #[test]
    fn a_catalog_of_older_releases_gives_absolute_paths() {
        let skills = catalog(ABSOLUTE_CATALOG);
        assert_eq!(skills.len(), 1);
        assert_eq!(skills[0].name, "imagegen");
        assert_eq!(skills[0].dir(), "/home/dev/.codex/skills/.system/imagegen");
    }

    #[test]
    fn an_entry_with_an_unknown_root_or_other_text_is_not_a_skill() {
        let unknown_root = ROOTS_CATALOG.replace("r0/greeting", "r7/greeting");
        assert_eq!(catalog(&unknown_root).len(), 1);
        assert!(catalog("- greeting: hello (file: r0/greeting/SKILL.md)").is_empty());
        assert!(catalog("<environment_context>\n</environment_context>").is_empty());
    }

    #[test]
    fn an_injected_skill_gives_its_path_and_front_matter_description() {
        let text = "<skill>\n<name>greeting</name>\n<path>/home/dev/.codex/skills/greeting/SKILL.md</path>\n---\nname: greeting\ndescription: Greets the user in the house style. Use when asked to greet someone.\n---\n\n# Greeting\n</skill>";
        assert_eq!(injected(text), Some(greeting()));
        assert_eq!(injected("<skill>\n<name>x</name>\n</skill>"), None);
        assert_eq!(injected("please run echo hello"), None);
    }

    #[test]
    fn a_resource_is_a_path_strictly_inside_the_skill_directory() {
        let skill = greeting();
        let dir = "/home/dev/.codex/skills/greeting";
        assert_eq!(
            skill.resource(&format!("{dir}/references/style.md")),
            Some("references/style.md")
        );
        assert_eq!(skill.resource(&format!("{dir}/SKILL.md")), Some("SKILL.md"));
        assert_eq!(skill.resource(&format!("{dir}-other/x.md")), None);
        assert_eq!(skill.resource(&format!("{dir}/../secrets.md")), None);
        assert_eq!(skill.resource(dir), None);
    }
}
