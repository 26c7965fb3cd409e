//! Pure layout maths: time → pixels, axis ticks, lane positions, level of detail and
//! hit-testing along a lane, which palette slot a process takes. No DOM, no signals:
//! everything here is tested natively (`cargo test -p frontend`).

/// Maps run time (seconds) onto the horizontal pixels of a plot area.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeAxis {
    /// Left edge of the plot area, in pixels.
    pub x0: f64,
    /// Width of the plot area, in pixels.
    pub width: f64,
    /// The time at the left edge, in seconds.
    pub t0: f64,
    /// The time span shown, in seconds (> 0).
    pub span: f64,
}

impl TimeAxis {
    /// An axis showing `[0, end]` seconds plus a little headroom, never less than `min_span`.
    pub fn fit(x0: f64, width: f64, end: f64, min_span: f64) -> Self {
        let span = (end * 1.05).max(min_span).max(1e-6);
        TimeAxis {
            x0,
            width,
            t0: 0.0,
            span,
        }
    }

    /// The x pixel of time `t` (seconds); times outside the span land outside the area.
    pub fn x(&self, t: f64) -> f64 {
        self.x0 + (t - self.t0) / self.span * self.width
    }

    /// The time at x pixel `x` (the inverse of [`TimeAxis::x`]), clamped to the span.
    pub fn t_at(&self, x: f64) -> f64 {
        let t = self.t0 + (x - self.x0) / self.width * self.span;
        t.clamp(self.t0, self.t0 + self.span)
    }

    /// The axis zoomed by `factor` (> 1: closer) around time `at`, staying within
    /// `[0, limit]` and no closer than 1 µs.
    pub fn zoomed(&self, at: f64, factor: f64, limit: f64) -> TimeAxis {
        let span = (self.span / factor).clamp(1e-6, limit.max(1e-6));
        let ratio = if self.span > 0.0 {
            (at - self.t0) / self.span
        } else {
            0.0
        };
        let t0 = (at - ratio * span).clamp(0.0, (limit - span).max(0.0));
        TimeAxis { t0, span, ..*self }
    }

    /// The axis moved by `dt` seconds, staying within `[0, limit]`.
    pub fn panned(&self, dt: f64, limit: f64) -> TimeAxis {
        let t0 = (self.t0 + dt).clamp(0.0, (limit - self.span).max(0.0));
        TimeAxis { t0, ..*self }
    }

    /// The width in pixels of an interval, at least `min_px` so short events stay visible.
    pub fn width_of(&self, start: f64, end: f64, min_px: f64) -> f64 {
        ((end - start) / self.span * self.width).max(min_px)
    }

    /// Tick marks for this axis: "nice" times (1, 2 or 5 × 10ⁿ apart) with labels, about
    /// `target_px` pixels apart.
    pub fn ticks(&self, target_px: f64) -> Vec<Tick> {
        let count = (self.width / target_px.max(1.0)).max(1.0);
        let step = nice_step(self.span / count);
        let first = (self.t0 / step).ceil() as i64;
        let last = ((self.t0 + self.span) / step).floor() as i64;
        (first..=last)
            .map(|i| {
                let t = i as f64 * step;
                Tick {
                    t,
                    x: self.x(t),
                    label: format_time(t, step),
                }
            })
            .collect()
    }
}

/// One rectangle of a lane drawn at the current zoom: a single span, or several spans too
/// close to tell apart merged into one (level of detail).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LodRect {
    /// Left edge, pixels.
    pub x: f64,
    /// Width, pixels (at least 1).
    pub w: f64,
    /// The first span it stands for.
    pub first: usize,
    /// How many spans it stands for.
    pub count: usize,
}

/// The first index in `0..n` for which `pred` is false (`pred` true then false along the
/// indexes), like `slice::partition_point` over an index function.
fn partition_point(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// [`partition_point`] when `pred` is known to hold below `from` and the answer is likely
/// near it: steps of 1, 2, 4, … from `from`, then a binary search in the last step (a merge
/// of bars costs the log of the bars merged, not of the lane's bars).
fn partition_point_from(from: usize, n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut step) = (from, 1);
    let hi = loop {
        let probe = lo + step - 1;
        if probe >= n {
            break n;
        }
        if !pred(probe) {
            break probe;
        }
        lo = probe + 1;
        step *= 2;
    };
    lo + partition_point(hi - lo, |k| pred(lo + k))
}

/// Level of detail for one lane: `n` spans (`span(i)` = start, end in seconds; starts and ends
/// ascending, as a worker's tasks are) reduced to the rectangles visible on `axis`; spans less
/// than `merge_px` apart merge. The cost grows with the rectangles drawn (at most about the
/// plot's width / `merge_px`) times log n, not with n, so a million tasks pan smoothly.
pub fn lod_rects(
    n: usize,
    span: impl Fn(usize) -> (f64, f64),
    axis: &TimeAxis,
    merge_px: f64,
) -> Vec<LodRect> {
    let t_end = axis.t0 + axis.span;
    let px = axis.span / axis.width.max(1.0);
    let mut i = partition_point(n, |i| span(i).0 < axis.t0);
    if i > 0 && span(i - 1).1 >= axis.t0 {
        i -= 1;
    }
    let mut out = Vec::new();
    while i < n {
        let (start, mut end) = span(i);
        if start > t_end {
            break;
        }
        let first = i;
        // Merge while still in view (what lies past the right edge is not drawn).
        while end < t_end {
            // The last span starting before the merge distance past the current end.
            let limit = end + merge_px * px;
            let j = partition_point_from(i + 1, n, |k| span(k).0 < limit);
            if j <= i + 1 {
                break;
            }
            i = j - 1;
            end = end.max(span(i).1);
        }
        let x = axis.x(start.max(axis.t0 - px));
        let x_end = axis.x(end.min(t_end + px));
        out.push(LodRect {
            x,
            w: (x_end - x).max(1.0),
            first,
            count: i - first + 1,
        });
        i += 1;
    }
    out
}

/// The span of `n` (as for [`lod_rects`]) under time `t`, or the nearest one within
/// `tolerance` seconds (pointer hit-testing).
pub fn span_at(
    n: usize,
    span: impl Fn(usize) -> (f64, f64),
    t: f64,
    tolerance: f64,
) -> Option<usize> {
    let after = partition_point(n, |i| span(i).0 <= t);
    let distance = |i: usize| {
        let (s, e) = span(i);
        if t < s {
            s - t
        } else if t > e {
            t - e
        } else {
            0.0
        }
    };
    [after.checked_sub(1), (after < n).then_some(after)]
        .into_iter()
        .flatten()
        .map(|i| (i, distance(i)))
        .filter(|&(_, d)| d <= tolerance)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// One tick mark of a [`TimeAxis`].
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// Its time, seconds.
    pub t: f64,
    /// Its x pixel.
    pub x: f64,
    /// Its label ("0.5 s", "20 ms").
    pub label: String,
}

/// The smallest of 1, 2, 5 × 10ⁿ that is ≥ `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 + 1e-9 {
        1.0
    } else if fraction <= 2.0 + 1e-9 {
        2.0
    } else if fraction <= 5.0 + 1e-9 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A time label with as many decimals as `step` needs: seconds from 1 s steps up, else
/// milliseconds, else microseconds.
pub fn format_time(t: f64, step: f64) -> String {
    if step >= 1.0 - 1e-9 {
        format!("{t:.0} s")
    } else if step >= 0.1 - 1e-12 {
        format!("{t:.1} s")
    } else if step >= 0.001 - 1e-12 {
        format!("{:.0} ms", t * 1e3)
    } else {
        format!("{:.0} µs", t * 1e6)
    }
}

/// A duration for people: "3.02 s", "12.4 ms", "850 µs" (the lessons' rule, so the page and
/// `procviz run lesson` write durations alike).
pub use shared::lessons::format_duration;

/// Vertical placement of lanes: lane `i` spans `[top(i), top(i) + height)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lanes {
    /// Top of the first lane, pixels.
    pub y0: f64,
    /// Height of one lane, pixels.
    pub height: f64,
    /// Gap between lanes, pixels.
    pub gap: f64,
}

impl Lanes {
    /// Top of lane `i`.
    pub fn top(&self, i: usize) -> f64 {
        self.y0 + i as f64 * (self.height + self.gap)
    }

    /// Total height of `n` lanes.
    pub fn total(&self, n: usize) -> f64 {
        if n == 0 {
            0.0
        } else {
            n as f64 * self.height + (n - 1) as f64 * self.gap
        }
    }
}

/// The timeline's lanes top to bottom: one per core, a gap, then one per process.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaneStack {
    /// The core lanes.
    pub cores: Lanes,
    /// The process lanes, below the core lanes.
    pub processes: Lanes,
}

impl LaneStack {
    /// Height of a core lane, pixels.
    pub const CORE_HEIGHT: f64 = 24.0;
    /// Height of a process lane, pixels.
    pub const PROCESS_HEIGHT: f64 = 34.0;

    /// Lanes from `y0` down, with `cores` core lanes (none: the process lanes start at `y0`).
    pub fn new(y0: f64, cores: u32) -> Self {
        let cores_lanes = Lanes {
            y0,
            height: Self::CORE_HEIGHT,
            gap: 6.0,
        };
        let below = if cores == 0 {
            y0
        } else {
            y0 + cores_lanes.total(cores as usize) + 16.0
        };
        LaneStack {
            cores: cores_lanes,
            processes: Lanes {
                y0: below,
                height: Self::PROCESS_HEIGHT,
                gap: 10.0,
            },
        }
    }
}

/// The thread sub-lanes of a process lane: one per thread that ran once the process has two
/// or more (none for one: a single-threaded process looks as it always did), at most
/// [`ThreadRows::MAX`], then one row saying how many more there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThreadRows {
    /// Threads with a sub-lane of their own.
    pub drawn: usize,
    /// Threads left out (shown as "+N threads").
    pub more: usize,
}

impl ThreadRows {
    /// Most threads drawn per process.
    pub const MAX: usize = 8;
    /// Height of one thread row, pixels.
    pub const HEIGHT: f64 = 12.0;
    /// Room between the process's own bars and its first thread row, pixels.
    pub const PAD: f64 = 3.0;

    /// The rows of a process with `threads` threads that ran.
    pub fn of(threads: usize) -> ThreadRows {
        if threads < 2 {
            return ThreadRows { drawn: 0, more: 0 };
        }
        let drawn = threads.min(Self::MAX);
        ThreadRows {
            drawn,
            more: threads - drawn,
        }
    }

    /// Rows taken (the "+N threads" line is one).
    pub fn rows(&self) -> usize {
        self.drawn + usize::from(self.more > 0)
    }

    /// Height they add to the process lane.
    pub fn height(&self) -> f64 {
        match self.rows() {
            0 => 0.0,
            n => Self::PAD + n as f64 * Self::HEIGHT,
        }
    }

    /// Top of row `i` in a process lane whose top is `lane_top`.
    pub fn top(lane_top: f64, i: usize) -> f64 {
        lane_top + LaneStack::PROCESS_HEIGHT + Self::PAD + i as f64 * Self::HEIGHT
    }

    /// The row at `y` in a process lane whose top is `lane_top`, if `y` is in one of them.
    pub fn at(&self, lane_top: f64, y: f64) -> Option<usize> {
        let below = y - Self::top(lane_top, 0);
        let i = (below / Self::HEIGHT).floor();
        (below >= 0.0 && (i as usize) < self.rows()).then_some(i as usize)
    }
}

/// Process lanes of different heights stacked top to bottom (each as tall as
/// [`LaneStack::PROCESS_HEIGHT`] plus its thread rows), the gaps of [`Lanes`] between them.
#[derive(Clone, Debug, PartialEq)]
pub struct LanePlaces {
    /// Top of each lane.
    pub tops: Vec<f64>,
    /// Each lane's thread rows.
    pub rows: Vec<ThreadRows>,
    /// Bottom of the last lane (the first lane's top if there is none).
    pub bottom: f64,
}

impl LanePlaces {
    /// `lanes` placed one under the other, lane `i` holding the rows of `threads[i]` threads
    /// that ran.
    pub fn new(lanes: &Lanes, threads: impl IntoIterator<Item = usize>) -> LanePlaces {
        let mut tops = Vec::new();
        let mut rows = Vec::new();
        let mut y = lanes.y0;
        let mut bottom = lanes.y0;
        for n in threads {
            let r = ThreadRows::of(n);
            tops.push(y);
            rows.push(r);
            bottom = y + lanes.height + r.height();
            y = bottom + lanes.gap;
        }
        LanePlaces { tops, rows, bottom }
    }

    /// Top of lane `i` (or where it would go, below the last).
    pub fn top(&self, i: usize) -> f64 {
        self.tops.get(i).copied().unwrap_or(self.bottom)
    }

    /// The lane at `y`, if `y` is inside one (not in a gap).
    pub fn at(&self, y: f64) -> Option<usize> {
        let i = self.tops.partition_point(|&top| top <= y).checked_sub(1)?;
        let bottom = self.tops[i] + LaneStack::PROCESS_HEIGHT + self.rows[i].height();
        (y <= bottom).then_some(i)
    }
}

/// How many colours the child processes take turns with.
const PROCESS_COLOURS: usize = 7;

/// The palette slot of the process with this id: 0 for the main process (grey), then 1 to 7
/// in turn (the Okabe–Ito palette without black: distinguishable with the common forms of
/// colour blindness). The colours are the stylesheet's `--proc-0` … `--proc-7`.
pub fn process_slot(proc: u32) -> usize {
    if proc == 0 {
        0
    } else {
        (proc as usize - 1) % PROCESS_COLOURS + 1
    }
}

/// The colour of the process with this id as a CSS value (`var(--proc-1)`), for styles.
pub fn process_colour(proc: u32) -> &'static str {
    const VARS: [&str; PROCESS_COLOURS + 1] = [
        "var(--proc-0)",
        "var(--proc-1)",
        "var(--proc-2)",
        "var(--proc-3)",
        "var(--proc-4)",
        "var(--proc-5)",
        "var(--proc-6)",
        "var(--proc-7)",
    ];
    VARS[process_slot(proc)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_from_a_known_point_finds_what_the_whole_search_finds() {
        let values: Vec<u32> = (0..100).map(|i| i * 3).collect();
        for limit in [0, 1, 3, 4, 150, 296, 297, 298, 1000] {
            let whole = partition_point(values.len(), |k| values[k] < limit);
            for from in 0..=whole {
                assert_eq!(
                    partition_point_from(from, values.len(), |k| values[k] < limit),
                    whole,
                    "limit {limit}, from {from}"
                );
            }
        }
        assert_eq!(partition_point_from(0, 0, |_| true), 0);
    }

    #[test]
    fn time_maps_linearly_onto_the_plot_area() {
        let axis = TimeAxis {
            x0: 100.0,
            width: 800.0,
            t0: 0.0,
            span: 4.0,
        };
        assert_eq!(axis.x(0.0), 100.0);
        assert_eq!(axis.x(2.0), 500.0);
        assert_eq!(axis.x(4.0), 900.0);
        assert_eq!(axis.width_of(1.0, 1.5, 0.0), 100.0);
        assert_eq!(
            axis.width_of(1.0, 1.0, 2.0),
            2.0,
            "zero-length stays visible"
        );
    }

    #[test]
    fn zoom_keeps_the_pointed_time_in_place_and_pan_stays_in_bounds() {
        let axis = TimeAxis {
            x0: 0.0,
            width: 1000.0,
            t0: 0.0,
            span: 4.0,
        };
        let zoomed = axis.zoomed(1.0, 2.0, 4.0);
        assert_eq!(zoomed.span, 2.0);
        assert!(
            (zoomed.x(1.0) - axis.x(1.0)).abs() < 1e-9,
            "1 s stays under the pointer"
        );
        assert_eq!(
            zoomed.zoomed(1.0, 0.01, 4.0).span,
            4.0,
            "never wider than the run"
        );
        assert_eq!(zoomed.zoomed(1.0, 0.01, 4.0).t0, 0.0);
        let panned = zoomed.panned(10.0, 4.0);
        assert_eq!((panned.t0, panned.span), (2.0, 2.0), "clamped at the end");
        assert_eq!(panned.panned(-10.0, 4.0).t0, 0.0, "clamped at the start");
        assert!(axis.zoomed(2.0, 1e12, 4.0).span >= 1e-6);
    }

    #[test]
    fn fit_leaves_headroom_and_a_minimum_span() {
        assert!((TimeAxis::fit(0.0, 100.0, 3.0, 0.01).span - 3.15).abs() < 1e-9);
        assert_eq!(TimeAxis::fit(0.0, 100.0, 0.0, 0.01).span, 0.01);
    }

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.3), 2.0);
        assert_eq!(nice_step(3.0), 5.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert!((nice_step(0.0031) - 0.005).abs() < 1e-12);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn ticks_cover_the_span_with_readable_labels() {
        let axis = TimeAxis {
            x0: 0.0,
            width: 1000.0,
            t0: 0.0,
            span: 3.15,
        };
        let ticks = axis.ticks(100.0);
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "0.0 s", "0.5 s", "1.0 s", "1.5 s", "2.0 s", "2.5 s", "3.0 s"
            ]
        );
        assert!(ticks.iter().all(|t| t.x >= 0.0 && t.x <= 1000.0));
    }

    #[test]
    fn short_runs_are_labelled_in_milliseconds() {
        let axis = TimeAxis {
            x0: 0.0,
            width: 800.0,
            t0: 0.0,
            span: 0.012,
        };
        let ticks = axis.ticks(100.0);
        assert_eq!(ticks[1].label, "2 ms");
        assert_eq!(format_time(0.0005, 0.0005), "500 µs");
        assert_eq!(format_time(0.0015, 0.0005), "1500 µs");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(3.0214), "3.02 s");
        assert_eq!(format_duration(0.0124), "12.4 ms");
        assert_eq!(format_duration(0.00085), "850 µs");
    }

    #[test]
    fn lanes_stack_without_overlap() {
        let lanes = Lanes {
            y0: 30.0,
            height: 20.0,
            gap: 4.0,
        };
        assert_eq!(lanes.top(0), 30.0);
        assert_eq!(lanes.top(2), 78.0);
        assert_eq!(lanes.total(3), 68.0);
        assert!(lanes.top(1) >= lanes.top(0) + lanes.height);
    }

    #[test]
    fn core_lanes_sit_above_process_lanes_without_overlap() {
        let none = LaneStack::new(36.0, 0);
        assert_eq!(none.processes.top(0), 36.0);
        let two = LaneStack::new(36.0, 2);
        assert_eq!(two.cores.top(0), 36.0);
        assert_eq!(two.cores.top(1), 66.0);
        let last_core_bottom = two.cores.top(1) + LaneStack::CORE_HEIGHT;
        assert!(two.processes.top(0) > last_core_bottom);
        assert_eq!(LaneStack::new(36.0, 16).cores.top(15), 36.0 + 15.0 * 30.0);
    }

    #[test]
    fn one_thread_adds_no_rows_and_many_are_capped() {
        assert_eq!(ThreadRows::of(0).height(), 0.0);
        assert_eq!(ThreadRows::of(1), ThreadRows { drawn: 0, more: 0 });
        let five = ThreadRows::of(5);
        assert_eq!((five.drawn, five.more, five.rows()), (5, 0, 5));
        assert_eq!(five.height(), ThreadRows::PAD + 5.0 * ThreadRows::HEIGHT);
        let hundred = ThreadRows::of(100);
        assert_eq!((hundred.drawn, hundred.more), (ThreadRows::MAX, 92));
        assert_eq!(hundred.rows(), ThreadRows::MAX + 1, "the +92 line is a row");
        assert_eq!(
            hundred.height(),
            ThreadRows::of(ThreadRows::MAX + 1000).height()
        );
    }

    #[test]
    fn thread_rows_sit_under_the_process_bars() {
        let r = ThreadRows::of(3);
        let first = ThreadRows::top(100.0, 0);
        assert_eq!(first, 100.0 + LaneStack::PROCESS_HEIGHT + ThreadRows::PAD);
        assert_eq!(r.at(100.0, first + 1.0), Some(0));
        assert_eq!(r.at(100.0, first + ThreadRows::HEIGHT + 1.0), Some(1));
        assert_eq!(r.at(100.0, 110.0), None, "the process's own bars");
        assert_eq!(r.at(100.0, first + 3.0 * ThreadRows::HEIGHT + 1.0), None);
    }

    #[test]
    fn lanes_grow_by_their_thread_rows() {
        let lanes = LaneStack::new(36.0, 0).processes;
        // Without threads, the places are the uniform lanes'.
        let plain = LanePlaces::new(&lanes, [0, 1, 1]);
        for i in 0..3 {
            assert_eq!(plain.top(i), lanes.top(i));
        }
        assert_eq!(plain.bottom, lanes.y0 + lanes.total(3));
        // The second lane holds 5 threads: the third moves down by their rows.
        let placed = LanePlaces::new(&lanes, [0, 5, 1]);
        let extra = ThreadRows::of(5).height();
        assert_eq!(placed.top(1), lanes.top(1));
        assert_eq!(placed.top(2), lanes.top(2) + extra);
        assert_eq!(placed.bottom, lanes.y0 + lanes.total(3) + extra);
        assert_eq!(
            placed.at(placed.top(1) + 50.0),
            Some(1),
            "in its thread rows"
        );
        assert_eq!(placed.at(placed.top(2) - 1.0), None, "the gap");
        assert_eq!(placed.at(placed.top(2) + 1.0), Some(2));
        assert_eq!(placed.at(lanes.y0 - 1.0), None);
        assert_eq!(placed.at(placed.bottom + 1.0), None);
        let empty = LanePlaces::new(&lanes, []);
        assert_eq!((empty.bottom, empty.at(40.0)), (lanes.y0, None));
    }

    #[test]
    fn level_of_detail_merges_what_cannot_be_told_apart() {
        // Spans [0,1], [2,3], [10,11] s on 20 s over 200 px (10 px/s): three rects.
        let spans = [(0.0, 1.0), (2.0, 3.0), (10.0, 11.0)];
        let axis = TimeAxis {
            x0: 0.0,
            width: 200.0,
            t0: 0.0,
            span: 20.0,
        };
        let rects = lod_rects(3, |i| spans[i], &axis, 1.0);
        assert_eq!(rects.len(), 3);
        assert_eq!((rects[1].x, rects[1].w, rects[1].count), (20.0, 10.0, 1));
        // At 1 px/s the 1 s gap between the first two is less than 2 px: they merge.
        let narrow = TimeAxis {
            width: 20.0,
            ..axis
        };
        let rects = lod_rects(3, |i| spans[i], &narrow, 2.0);
        assert_eq!(
            rects.iter().map(|r| (r.first, r.count)).collect::<Vec<_>>(),
            [(0, 2), (2, 1)]
        );
        // Zoomed onto [1.5, 2.5]: only the second, clipped to the view.
        let zoomed = TimeAxis {
            t0: 1.5,
            span: 1.0,
            ..axis
        };
        let rects = lod_rects(3, |i| spans[i], &zoomed, 1.0);
        assert_eq!(rects.len(), 1);
        assert_eq!(rects[0].first, 1);
    }

    #[test]
    fn a_million_spans_reduce_to_about_one_rect_per_pixel_group() {
        // 1,000,000 tasks of 1 µs with 1 µs gaps on 1000 px: nothing to tell apart.
        let n = 1_000_000;
        let span = |i: usize| (i as f64 * 2e-6, i as f64 * 2e-6 + 1e-6);
        let axis = TimeAxis {
            x0: 0.0,
            width: 1000.0,
            t0: 0.0,
            span: 2.0,
        };
        let rects = lod_rects(n, span, &axis, 1.0);
        assert_eq!(rects.len(), 1);
        assert_eq!(rects[0].count, n, "every span is accounted for");
        // Zoomed to 20 µs: each of the ten spans is its own rect again.
        let close = TimeAxis {
            t0: 1.0,
            span: 20e-6,
            ..axis
        };
        let rects = lod_rects(n, span, &close, 1.0);
        let whole: Vec<&LodRect> = rects.iter().filter(|r| r.w > 49.0).collect();
        assert_eq!(whole.len(), 10, "{rects:?}");
        assert!(rects.iter().all(|r| r.count == 1 && r.w <= 50.0 + 1e-6));
    }

    #[test]
    fn merging_stops_at_the_right_edge_of_the_view() {
        // Ten million spans 1 µs apart; the view shows the first millisecond of them.
        let span = |i: usize| (i as f64 * 1e-6, i as f64 * 1e-6 + 0.5e-6);
        let axis = TimeAxis {
            x0: 0.0,
            width: 1000.0,
            t0: 0.0,
            span: 0.001,
        };
        let rects = lod_rects(10_000_000, span, &axis, 1.0);
        let counted: usize = rects.iter().map(|r| r.count).sum();
        assert!((1000..1010).contains(&counted), "{counted} spans counted");
    }

    #[test]
    fn the_span_under_the_pointer_is_found_or_the_nearest_close_one() {
        let spans = [(0.0, 1.0), (2.0, 3.0), (10.0, 11.0)];
        assert_eq!(span_at(3, |i| spans[i], 2.5, 0.0), Some(1));
        assert_eq!(span_at(3, |i| spans[i], 1.2, 0.3), Some(0));
        assert_eq!(span_at(3, |i| spans[i], 1.8, 0.3), Some(1));
        assert_eq!(span_at(3, |i| spans[i], 5.0, 0.3), None);
        assert_eq!(span_at(0, |i| spans[i], 5.0, 0.3), None);
    }

    #[test]
    fn processes_get_distinct_colours_and_main_its_own() {
        assert_eq!(process_slot(0), 0);
        assert_eq!(process_colour(0), "var(--proc-0)");
        assert_ne!(process_colour(1), process_colour(2));
        assert_eq!(process_slot(7), 7);
        assert_eq!(process_colour(1), process_colour(8), "the palette cycles");
        assert!((1..2000).all(|p| (1..=7).contains(&process_slot(p))));
    }
}
