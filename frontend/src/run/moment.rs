//! One replay cut for the whole model: every row type says what it was at a moment of a
//! replay — gone (it had not happened yet) or clipped (what happened later left out).

/// What a row of the run was at a moment.
pub trait Moment: Sized {
    /// This row as it was at `t` seconds; `None` if it did not exist yet.
    fn at(&self, t: f64) -> Option<Self>;
}

/// The rows that existed at `t`, each as it was then.
pub(super) fn cut_all<T: Moment>(rows: &[T], t: f64) -> Vec<T> {
    rows.iter().filter_map(|r| r.at(t)).collect()
}
