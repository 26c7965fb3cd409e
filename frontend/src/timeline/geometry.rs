//! Where things are in the timeline's drawing (its viewBox units, which the canvas shares):
//! the drawing's width, the plot area, the lanes, the offsets of what a lane holds, and the
//! least widths of bars. One geometry for the scene, hit-testing and every painter.

use crate::layout::{LanePlaces, LaneStack, Lanes, TimeAxis};

/// Width of the drawing, pixels.
pub const WIDTH: f64 = 1200.0;
/// Width of the lane names, left of the plot.
pub const LABEL_W: f64 = 200.0;
/// Room right of the plot (exit labels, kill buttons).
pub const RIGHT_PAD: f64 = 90.0;
/// Width of the plot area.
pub const PLOT_W: f64 = WIDTH - LABEL_W - RIGHT_PAD;
/// Right end of the plot area.
pub const PLOT_END: f64 = WIDTH - RIGHT_PAD;
/// Top of the first lane (the axis labels are above it).
pub const TOP: f64 = 36.0;
/// Height of the axis strip at the top (scrubbing; the plot is dragged below it).
pub const AXIS_H: f64 = 30.0;
/// Room below the last lane.
pub const BOTTOM_PAD: f64 = 12.0;
/// Baseline of the tick labels.
pub const TICK_LABEL_Y: f64 = 16.0;
/// Top of the tick lines.
pub const TICK_TOP: f64 = 22.0;
/// The tick lines stop this far above the drawing's bottom.
pub const TICK_BOTTOM_PAD: f64 = 8.0;
/// Aimed-for distance between ticks, pixels.
pub const TICK_PX: f64 = 110.0;

/// Offsets inside a process lane, from its top (the lane is
/// [`LaneStack::PROCESS_HEIGHT`] tall).
pub mod process {
    /// Baseline of the process name.
    pub const NAME_Y: f64 = 15.0;
    /// Baseline of the PID.
    pub const PID_Y: f64 = 30.0;
    /// Waiting to start: top and height.
    pub const PENDING: (f64, f64) = (12.0, 10.0);
    /// Running: top and height.
    pub const RUNNING: (f64, f64) = (4.0, 26.0);
    /// A task bar: top and height.
    pub const BAR: (f64, f64) = (6.0, 22.0);
    /// Baseline of a task bar's label.
    pub const LABEL_Y: f64 = 22.0;
    /// A task label starts this far right of its bar's left edge.
    pub const LABEL_DX: f64 = 3.0;
    /// The state strip: top and height.
    pub const STRIP: (f64, f64) = (29.0, 5.0);
    /// Baseline of an exit label; the label starts this far right of the exit line.
    pub const EXIT_LABEL: (f64, f64) = (22.0, 5.0);
    /// The signal's line under an exit label (`SIGKILL`): its font size, in ems of the
    /// label's; it sits one of its own ems lower.
    pub const EXIT_SIGNAL_EM: f64 = 0.8;
}

/// Offsets inside a thread's row of a process lane, from the row's top (the row is
/// [`crate::layout::ThreadRows::HEIGHT`] tall).
pub mod thread {
    /// The thread's name starts this far right of the lane names.
    pub const NAME_X: f64 = 20.0;
    /// Baseline of the thread's name (and of the "+N threads" line).
    pub const NAME_Y: f64 = 9.5;
    /// Its state strip: top and height.
    pub const STRIP: (f64, f64) = (2.0, 8.0);
}

/// Offsets inside a core lane, from its top (the lane is [`LaneStack::CORE_HEIGHT`] tall).
pub mod core {
    use crate::layout::LaneStack;
    /// Baseline of the core's name and of the "not allowed" note.
    pub const NAME_Y: f64 = 17.0;
    /// The "not allowed" note starts this far right of the plot's left edge.
    pub const NOTE_DX: f64 = 10.0;
    /// Blocks leave this much room above and below.
    pub const PAD: f64 = 2.0;
    /// The height blocks share.
    pub const INNER: f64 = LaneStack::CORE_HEIGHT - 2.0 * PAD;
    /// Least height of a block.
    pub const MIN_BLOCK_H: f64 = 1.5;
}

/// Least width of a task bar, pixels.
pub const TASK_MIN_PX: f64 = 3.0;
/// Least width of a failed task's bar, pixels: wide enough for its ✗ however short it was.
pub const FAILED_MIN_PX: f64 = 14.0;
/// A failed bar at least this wide shows its task number after the ✗.
pub const FAILED_NUMBER_PX: f64 = 30.0;
/// Least width of a sampled block or of load from outside the run, pixels.
pub const BLOCK_MIN_PX: f64 = 1.0;
/// Least width of a state-strip interval, pixels.
pub const STRIP_MIN_PX: f64 = 0.5;
/// Least width of a process's running span, pixels.
pub const RUNNING_MIN_PX: f64 = 3.0;
/// Least width of the main process's span, pixels.
pub const MAIN_MIN_PX: f64 = 2.0;
/// Least width of a waiting-to-start span, pixels.
pub const PENDING_MIN_PX: f64 = 1.0;
/// The pointer finds a task bar this close, pixels.
pub const HIT_TOLERANCE_PX: f64 = 4.0;
/// The pointer finds a failed bar this far left of its start, pixels.
pub const FAILED_HIT_LEFT_PX: f64 = 2.0;

/// A rectangle in drawing coordinates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// Right edge.
    pub fn right(&self) -> f64 {
        self.x + self.w
    }
}

/// The axis of the plot area showing `span` seconds from `t0`.
pub fn plot_axis(t0: f64, span: f64) -> TimeAxis {
    TimeAxis {
        x0: LABEL_W,
        width: PLOT_W,
        t0,
        span,
    }
}

/// The axis fitted to a run `end` seconds long (the view before any zoom).
pub fn fitted_axis(end: f64) -> TimeAxis {
    TimeAxis::fit(LABEL_W, PLOT_W, end, 0.001)
}

/// The lanes of a drawing with `cores` core lanes.
pub fn lane_stack(cores: u32) -> LaneStack {
    LaneStack::new(TOP, cores)
}

/// The process lanes below `cores` core lanes.
pub fn process_lanes(cores: u32) -> Lanes {
    lane_stack(cores).processes
}

/// Height of the drawing with `cores` core lanes and `processes` process lanes, none of
/// them with thread rows.
pub fn height(cores: u32, processes: usize) -> f64 {
    let lanes = process_lanes(cores);
    drawing_height(&LanePlaces::new(&lanes, std::iter::repeat_n(0, processes)))
}

/// Height of the drawing whose process lanes are placed at `places`.
pub fn drawing_height(places: &LanePlaces) -> f64 {
    places.bottom + BOTTOM_PAD
}

/// Page pixels per drawing unit of a drawing `drawing_h` high shown in a box `box_w` × `box_h`
/// page pixels, as an SVG scales it (`preserveAspectRatio="xMinYMin meet"`): to the box's
/// width, or to its height where the page caps that (full screen). The canvas paints at
/// this scale and the pointer is read back with it.
pub fn meet_scale(box_w: f64, box_h: f64, drawing_h: f64) -> f64 {
    (box_w / WIDTH).min(box_h / drawing_h.max(1.0))
}

/// The bar of a task from `start` to `end` (seconds) in the process lane whose top is `top`:
/// at least [`TASK_MIN_PX`] wide, or [`FAILED_MIN_PX`] if it failed. The one bar rule of the
/// SVG, the canvas, the selection outline and hit-testing.
pub fn task_rect(axis: &TimeAxis, top: f64, start: f64, end: f64, failed: bool) -> Rect {
    let min = if failed { FAILED_MIN_PX } else { TASK_MIN_PX };
    Rect {
        x: axis.x(start),
        y: top + process::BAR.0,
        w: axis.width_of(start, end, min),
        h: process::BAR.1,
    }
}

/// Whether `x` (drawing coordinates) is in the plot area.
pub fn in_plot(x: f64) -> bool {
    (LABEL_W..=PLOT_END).contains(&x)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_drawing_scales_to_its_box_width_unless_the_box_is_lower() {
        // Height auto: the box keeps the drawing's aspect ratio, the width decides.
        assert_eq!(meet_scale(600.0, 300.0, 600.0), 0.5);
        assert_eq!(meet_scale(2400.0, 1200.0, 600.0), 2.0);
        // Full screen caps the height: the drawing is scaled to fit it.
        assert_eq!(meet_scale(1200.0, 300.0, 600.0), 0.5);
        // A drawing of no height yet does not divide by zero.
        assert_eq!(meet_scale(1200.0, 0.0, 0.0), 0.0);
    }

    use super::*;

    #[test]
    fn a_failed_bar_is_never_narrower_than_its_mark() {
        let axis = plot_axis(0.0, 10.0);
        let quick = task_rect(&axis, 100.0, 1.0, 1.0001, true);
        assert_eq!((quick.w, quick.y, quick.h), (FAILED_MIN_PX, 106.0, 22.0));
        assert_eq!(task_rect(&axis, 100.0, 1.0, 1.0001, false).w, TASK_MIN_PX);
        let long = task_rect(&axis, 0.0, 1.0, 2.0, true);
        assert!((long.w - PLOT_W / 10.0).abs() < 1e-9);
        assert!((long.right() - axis.x(2.0)).abs() < 1e-9);
    }

    #[test]
    fn the_plot_sits_between_the_names_and_the_right_pad() {
        let axis = plot_axis(0.0, 1.0);
        assert_eq!(axis.x(0.0), LABEL_W);
        assert_eq!(axis.x(1.0), PLOT_END);
        assert!(in_plot(LABEL_W) && in_plot(PLOT_END) && !in_plot(PLOT_END + 1.0));
        assert_eq!(fitted_axis(0.0).span, 0.001);
    }

    #[test]
    fn the_drawing_holds_every_lane() {
        // Two cores, main + four workers.
        let lanes = process_lanes(2);
        let bottom = lanes.top(4) + LaneStack::PROCESS_HEIGHT;
        assert_eq!(height(2, 5), bottom + BOTTOM_PAD);
        assert_eq!(process_lanes(0).y0, TOP);
    }
}
