//! The timeline's colours, by name. Their values live in one place: CSS custom properties in
//! `static/style.css` (`--task`, `--failed`, `--proc-1`, …), set per theme (light, dark,
//! projector). The SVG view uses them through its classes; the canvas and the export read
//! them into a [`Palette`] (the page's computed style) and write resolved values.

/// A colour of the timeline, named by its CSS custom property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// Text.
    Ink,
    /// Secondary text (tick labels, PIDs).
    Muted,
    /// Tick lines.
    Line,
    /// The drawing's background.
    Panel,
    /// A core lane's background.
    CoreBg,
    /// A clean exit.
    Ok,
    /// A failed exit.
    Bad,
    /// Text on a bar.
    BarText,
    /// A task bar.
    Task,
    /// The edge of a task bar.
    TaskEdge,
    /// Task bars merged at this zoom ("many tasks, zoom in").
    Many,
    /// A failed task.
    Failed,
    /// The edge of a failed task's bar.
    FailedEdge,
    /// "On a core" in the state strip.
    OnCpu,
    /// "Waiting for a core" in the state strip.
    Waiting,
    /// Load from outside the run on a core lane.
    Outside,
    /// The outline of the selected task.
    Selected,
    /// The scrub cursor.
    Cursor,
    /// The colour of a process: slot 0 (the main process) to [`PROCESS_SLOTS`] − 1; see
    /// [`crate::layout::process_slot`].
    Process(usize),
}

/// How many process colours the palette has (the main process's grey and seven more).
pub const PROCESS_SLOTS: usize = 8;

/// The CSS custom properties of the process colours.
const PROCESS_VARS: [&str; PROCESS_SLOTS] = [
    "--proc-0", "--proc-1", "--proc-2", "--proc-3", "--proc-4", "--proc-5", "--proc-6", "--proc-7",
];

impl Colour {
    /// Every colour but the process colours.
    pub const NAMED: [Colour; 18] = [
        Colour::Ink,
        Colour::Muted,
        Colour::Line,
        Colour::Panel,
        Colour::CoreBg,
        Colour::Ok,
        Colour::Bad,
        Colour::BarText,
        Colour::Task,
        Colour::TaskEdge,
        Colour::Many,
        Colour::Failed,
        Colour::FailedEdge,
        Colour::OnCpu,
        Colour::Waiting,
        Colour::Outside,
        Colour::Selected,
        Colour::Cursor,
    ];

    /// Its CSS custom property (`--task`).
    pub fn var(self) -> &'static str {
        match self {
            Colour::Ink => "--ink",
            Colour::Muted => "--muted",
            Colour::Line => "--line",
            Colour::Panel => "--panel",
            Colour::CoreBg => "--core-bg",
            Colour::Ok => "--ok",
            Colour::Bad => "--bad",
            Colour::BarText => "--bar-text",
            Colour::Task => "--task",
            Colour::TaskEdge => "--task-edge",
            Colour::Many => "--many",
            Colour::Failed => "--failed",
            Colour::FailedEdge => "--failed-edge",
            Colour::OnCpu => "--on-cpu",
            Colour::Waiting => "--waiting",
            Colour::Outside => "--outside",
            Colour::Selected => "--selected",
            Colour::Cursor => "--cursor",
            Colour::Process(slot) => PROCESS_VARS[slot.min(PROCESS_SLOTS - 1)],
        }
    }

    /// Every colour of the palette.
    pub fn all() -> impl Iterator<Item = Colour> {
        Colour::NAMED
            .into_iter()
            .chain((0..PROCESS_SLOTS).map(Colour::Process))
    }
}

/// The colours' values in one theme.
#[derive(Clone, Debug, PartialEq)]
pub struct Palette {
    named: Vec<String>,
    process: Vec<String>,
}

impl Palette {
    /// Reads every colour with `lookup` (a custom property's name → its value; the page asks
    /// its computed style). A value is trimmed; one that is missing reads as black, so a
    /// colour left out of the stylesheet shows instead of vanishing.
    pub fn read(lookup: impl Fn(&str) -> String) -> Palette {
        let value = |c: Colour| {
            let v = lookup(c.var()).trim().to_string();
            if v.is_empty() { "#000000".into() } else { v }
        };
        Palette {
            named: Colour::NAMED.into_iter().map(value).collect(),
            process: (0..PROCESS_SLOTS)
                .map(|s| value(Colour::Process(s)))
                .collect(),
        }
    }

    /// The value of `c` (`#0072b2`).
    pub fn get(&self, c: Colour) -> &str {
        let value = match c {
            Colour::Process(slot) => self.process.get(slot),
            named => Colour::NAMED
                .iter()
                .position(|n| *n == named)
                .and_then(|i| self.named.get(i)),
        };
        value.map_or("#000000", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stylesheet's `:root` block (the light theme, which every theme starts from).
    fn root_block(css: &str) -> &str {
        let start = css.find(":root {").expect("a :root block");
        let end = css[start..].find('}').expect("its end") + start;
        &css[start..end]
    }

    #[test]
    fn every_colour_is_defined_once_in_the_stylesheet() {
        let css = include_str!("../../../static/style.css");
        let root = root_block(css);
        for c in Colour::all() {
            let decl = format!("{}:", c.var());
            assert_eq!(
                root.matches(&decl).count(),
                1,
                "{} in :root of style.css",
                c.var()
            );
        }
        // The timeline's rules only use the palette, they never write a colour.
        for line in css
            .lines()
            .filter(|l| l.contains(".timeline-svg") || l.contains(".legend .key"))
        {
            let without_refs = line.replace("url(#", "url(");
            assert!(
                !without_refs.contains('#'),
                "a colour outside the palette: {line}"
            );
        }
    }

    #[test]
    fn the_palette_reads_each_property_by_name() {
        let p = Palette::read(|name| format!(" v{name} "));
        assert_eq!(p.get(Colour::Failed), "v--failed");
        assert_eq!(p.get(Colour::Process(3)), "v--proc-3");
        assert_eq!(p.get(Colour::Process(99)), "#000000");
        let missing = Palette::read(|_| String::new());
        assert_eq!(missing.get(Colour::Task), "#000000");
    }
}
