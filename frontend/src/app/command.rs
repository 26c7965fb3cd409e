//! Every page action a presenter may take, as one [`Command`]: a button and its keyboard
//! shortcut dispatch the same command ([`super::AppState::dispatch`]), and the help overlay
//! lists the shortcuts from this enum. Pure; tested natively.

use shared::Lesson;

/// A page action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Start a lecture demo (keys 1 … 8, in the order of [`Lesson::ALL`]).
    StartLesson(Lesson),
    /// Run the current lecture demo again.
    RerunLesson,
    /// Replay the finished run at the chosen speed.
    Replay,
    /// Show the run one event earlier.
    StepBack,
    /// Show the run one event later.
    StepForward,
    /// The next theme (light, dark, projector).
    NextTheme,
    /// The timeline alone, full screen (or back).
    FullScreen,
    /// Leave the full-screen view, close the help.
    Dismiss,
    /// Cancel the run on screen.
    Cancel,
    /// Show or hide the keyboard shortcuts.
    ToggleHelp,
}

/// The commands with one key each, in the order the help lists them (the lessons come
/// first, as one line "1 … 8").
const KEYED: [Command; 9] = [
    Command::RerunLesson,
    Command::Replay,
    Command::StepBack,
    Command::StepForward,
    Command::NextTheme,
    Command::FullScreen,
    Command::Dismiss,
    Command::Cancel,
    Command::ToggleHelp,
];

/// The timeline's own keys (zoom and pan act on the focused timeline, not on the page).
const TIMELINE_KEYS: (&str, &str) = ("+ − ← → 0", "zoom, pan, reset (timeline focused)");

impl Command {
    /// Whether the command starts or stops runs (a view-only page may not).
    pub fn commands_runs(self) -> bool {
        matches!(
            self,
            Command::StartLesson(_) | Command::RerunLesson | Command::Cancel
        )
    }

    /// The command a key (as `KeyboardEvent.key` names it) stands for, if any.
    pub fn from_key(key: &str) -> Option<Command> {
        if let Some(lesson) = key
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| Lesson::ALL.get(i))
        {
            return Some(Command::StartLesson(*lesson));
        }
        KEYED.into_iter().find(|c| c.key() == key)
    }

    /// Its key, as `KeyboardEvent.key` names it.
    pub fn key(self) -> String {
        match self {
            Command::StartLesson(lesson) => lesson.key().to_string(),
            Command::RerunLesson => "r".into(),
            Command::Replay => "p".into(),
            Command::StepBack => ",".into(),
            Command::StepForward => ".".into(),
            Command::NextTheme => "t".into(),
            Command::FullScreen => "f".into(),
            Command::Dismiss => "Escape".into(),
            Command::Cancel => "c".into(),
            Command::ToggleHelp => "?".into(),
        }
    }

    /// What it does, for the help and the buttons' tooltips.
    pub fn label(self) -> String {
        match self {
            Command::StartLesson(lesson) => format!("start lecture demo {}", lesson.title()),
            Command::RerunLesson => "run the current lecture demo again".into(),
            Command::Replay => "replay the run".into(),
            Command::StepBack => "step back one event".into(),
            Command::StepForward => "step forward one event".into(),
            Command::NextTheme => "next theme (light, dark, projector)".into(),
            Command::FullScreen => "timeline full screen (Esc or f leaves)".into(),
            Command::Dismiss => "leave full screen, close this help".into(),
            Command::Cancel => "cancel the run".into(),
            Command::ToggleHelp => "show or hide this help".into(),
        }
    }

    /// A button's tooltip: what it does and its key.
    pub fn tooltip(self) -> String {
        let key = match self.key().as_str() {
            "Escape" => "Esc".to_string(),
            k => k.to_string(),
        };
        let label = self.label();
        let mut chars = label.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase().to_string());
        format!("{}{} ({key})", first.unwrap_or_default(), chars.as_str())
    }

    /// The shortcuts as the help lists them: key and what it does.
    pub fn help() -> Vec<(String, String)> {
        let mut rows = vec![(
            format!("1 … {}", Lesson::ALL.len()),
            format!("start lecture demo 1 … {}", Lesson::ALL.len()),
        )];
        rows.extend(KEYED.iter().map(|c| {
            let key = match c.key().as_str() {
                "Escape" => "Esc".to_string(),
                k => k.to_string(),
            };
            (key, c.label())
        }));
        rows.push((TIMELINE_KEYS.0.into(), TIMELINE_KEYS.1.into()));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_found_again_by_its_key() {
        let all = Lesson::ALL
            .into_iter()
            .map(Command::StartLesson)
            .chain(KEYED);
        for command in all {
            assert_eq!(Command::from_key(&command.key()), Some(command));
        }
        assert_eq!(
            Command::from_key("3"),
            Some(Command::StartLesson(Lesson::PoolImap))
        );
        assert_eq!(Command::from_key("0"), None);
        assert_eq!(Command::from_key("9"), None);
        assert_eq!(Command::from_key("x"), None);
    }

    #[test]
    fn the_help_lists_every_key_once() {
        let rows = Command::help();
        assert_eq!(rows.len(), 1 + KEYED.len() + 1);
        assert_eq!(rows[0].0, "1 … 8");
        let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
        for k in ["r", "p", ",", ".", "t", "f", "Esc", "c", "?"] {
            assert_eq!(keys.iter().filter(|x| **x == k).count(), 1, "{k}");
        }
        assert!(
            rows.iter()
                .any(|(_, what)| what.contains("timeline full screen"))
        );
    }

    #[test]
    fn a_tooltip_names_the_key() {
        assert_eq!(Command::Replay.tooltip(), "Replay the run (p)");
        assert_eq!(
            Command::Dismiss.tooltip(),
            "Leave full screen, close this help (Esc)"
        );
    }

    #[test]
    fn only_starting_and_stopping_runs_is_out_of_a_viewers_reach() {
        let of_runs: Vec<Command> = KEYED
            .into_iter()
            .chain([Command::StartLesson(Lesson::PoolImap)])
            .filter(|c| c.commands_runs())
            .collect();
        assert_eq!(
            of_runs,
            [
                Command::RerunLesson,
                Command::Cancel,
                Command::StartLesson(Lesson::PoolImap)
            ]
        );
    }
}
