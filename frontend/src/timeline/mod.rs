//! The timeline's one drawing path, pure and tested natively: [`geometry`] says where
//! things are, [`scene`] (its task bars in `bars`, its state strips and thread sub-lanes in [`strips`]) turns a run and a view into [`shape`]s,
//! [`hit`] finds what is under the pointer by the same geometry and says what it is,
//! [`palette`] names the colours (their values live in the stylesheet), and [`svg`] writes a
//! scene as standalone SVG text for the export. The page's painters — SVG elements for
//! demo-size runs, a canvas for big ones — are in `components::timeline` and only paint a
//! [`scene::Scene`].
//!
//! Dependencies go one way: `components::timeline` → `timeline` → `layout`, `model`.

mod bars;
pub mod geometry;
pub mod hit;
pub mod palette;
pub mod scene;
pub mod shape;
pub mod strips;
pub mod svg;
