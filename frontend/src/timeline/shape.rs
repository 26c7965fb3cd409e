//! The scene's vocabulary: the view it is drawn for (time range and level of detail) and
//! the shapes of a lane — sampled blocks, load from outside the run, state-strip parts and
//! task bars — each with what it stands for (task, block), its class in the SVG and its
//! colour in the palette.

use super::geometry::Rect;
use super::palette::Colour;
use crate::layout::{TimeAxis, process_slot};
use crate::run::RunModel;
use shared::ProcId;

/// Above this many task bars the run is drawn with level of detail (on the canvas).
pub const SVG_TASKS: usize = 500;
/// Above this many sampled blocks (core blocks, state-strip and thread-strip intervals)
/// likewise.
pub const SVG_BLOCKS: usize = 3_000;

/// How much of a run is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Every bar and block its own shape, every task bar labelled (demo sizes: SVG).
    Every,
    /// Level of detail: close bars merged, hidden shapes left out, a task's number shown
    /// only where it fits (big runs: the canvas).
    Merged,
}

impl Detail {
    /// The detail a run is drawn with by default: merged once it is too big for SVG, or
    /// from its start when its pool said it will be (the page does not build hundreds of
    /// SVG bars only to replace them with the canvas a moment later).
    pub fn of(m: &RunModel) -> Detail {
        let blocks = m.core_blocks.len() + m.state_blocks.len() + m.thread_slices_drawn();
        let tasks = m
            .tasks
            .len()
            .max(usize::try_from(m.tasks_announced).unwrap_or(usize::MAX));
        if tasks > SVG_TASKS || blocks > SVG_BLOCKS {
            Detail::Merged
        } else {
            Detail::Every
        }
    }
}

/// What the scene is drawn for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    /// The time range and the plot's pixels.
    pub axis: TimeAxis,
    /// The level of detail.
    pub detail: Detail,
    /// Pixels per character of a task label (wider in the projector theme): with
    /// [`Detail::Merged`], a number is shown only where it fits.
    pub label_px: f64,
}

/// One shape in a lane.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    /// Load from outside the run on a core (hatched, up from the lane's bottom).
    Outside {
        /// Where.
        rect: Rect,
        /// The busy share of the interval, 0 to 1.
        share: f64,
    },
    /// A process's share of a sampled interval on a core.
    Block {
        /// Where.
        rect: Rect,
        /// The process.
        proc: ProcId,
        /// Index into the run's core blocks (its tooltip).
        block: usize,
    },
    /// Part of a process's state strip: on a core, or waiting for one.
    Strip {
        /// Where.
        rect: Rect,
        /// Waiting for a core (else on one).
        waiting: bool,
    },
    /// A task bar.
    Bar(Bar),
}

/// The task(s) a bar stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tasks {
    /// One task: its index into the run's tasks and its number.
    One {
        /// Index into [`RunModel::tasks`].
        index: usize,
        /// The task's number.
        task: u64,
    },
    /// Several, merged at this zoom: how many.
    Many(usize),
}

/// A task bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Where.
    pub rect: Rect,
    /// What it stands for.
    pub tasks: Tasks,
    /// Whether it (or each task merged into it) failed.
    pub failed: bool,
    /// Its text, if shown.
    pub label: Option<Label>,
}

/// Text on a bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Left.
    pub x: f64,
    /// Baseline.
    pub y: f64,
    /// The text.
    pub text: String,
}

impl Shape {
    /// Where it is.
    pub fn rect(&self) -> Rect {
        match self {
            Shape::Outside { rect, .. } | Shape::Block { rect, .. } | Shape::Strip { rect, .. } => {
                *rect
            }
            Shape::Bar(bar) => bar.rect,
        }
    }

    /// Its class in the SVG (the stylesheet colours it from the same custom property as
    /// [`Shape::colour`]).
    pub fn class(&self) -> &'static str {
        match self {
            Shape::Outside { .. } => "outside-load",
            Shape::Block { .. } => "core-block",
            Shape::Strip { waiting: false, .. } => "on-cpu",
            Shape::Strip { waiting: true, .. } => "waiting",
            Shape::Bar(Bar { failed: true, .. }) => "task failed",
            Shape::Bar(Bar {
                tasks: Tasks::Many(_),
                ..
            }) => "many",
            Shape::Bar(_) => "task",
        }
    }

    /// Its fill.
    pub fn colour(&self) -> Colour {
        match self {
            Shape::Outside { .. } => Colour::Outside,
            Shape::Block { proc, .. } => Colour::Process(process_slot(proc.0)),
            Shape::Strip { waiting: false, .. } => Colour::OnCpu,
            Shape::Strip { waiting: true, .. } => Colour::Waiting,
            Shape::Bar(Bar { failed: true, .. }) => Colour::Failed,
            Shape::Bar(Bar {
                tasks: Tasks::Many(_),
                ..
            }) => Colour::Many,
            Shape::Bar(_) => Colour::Task,
        }
    }
}
