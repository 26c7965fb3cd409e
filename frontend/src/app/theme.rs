//! The page's themes as state: light, dark, and a high-contrast, large-type one for
//! projectors. The theme lives in a signal; [`apply`] mirrors it onto `<html data-theme>`,
//! which the style sheet reads (nothing reads the attribute back). The app applies it on every
//! change, and the timeline just before it reads the theme's colours for its canvas.

use leptos::prelude::document;

/// A theme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    /// The default.
    #[default]
    Light,
    /// For dim rooms and screens.
    Dark,
    /// Maximum contrast, large type: readable at the back of a lecture hall.
    Projector,
}

impl Theme {
    /// Every theme, in the order `t` cycles through them.
    pub const ALL: [Theme; 3] = [Theme::Light, Theme::Dark, Theme::Projector];

    /// Its name, in the URL (`?theme=projector`) and the style sheet.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::Projector => "projector",
        }
    }

    /// The theme called `name`.
    pub fn from_name(name: &str) -> Option<Theme> {
        Theme::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The next theme (after the last, the first).
    pub fn next(self) -> Theme {
        let i = Theme::ALL.iter().position(|t| *t == self).unwrap_or(0);
        Theme::ALL[(i + 1) % Theme::ALL.len()]
    }

    /// The theme the page's URL asks for (`?theme=projector`), if any.
    pub fn from_url() -> Option<Theme> {
        Theme::from_name(&super::url::url_value("theme"))
    }
}

/// Shows the page in `theme`.
pub fn apply(theme: Theme) {
    if let Some(root) = document().document_element()
        && root.set_attribute("data-theme", theme.name()).is_err()
    {
        leptos::logging::warn!("procviz: could not set the theme");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_cycle_and_are_found_by_name() {
        assert_eq!(Theme::Light.next(), Theme::Dark);
        assert_eq!(Theme::Dark.next(), Theme::Projector);
        assert_eq!(Theme::Projector.next(), Theme::Light);
        for t in Theme::ALL {
            assert_eq!(Theme::from_name(t.name()), Some(t));
        }
        assert_eq!(Theme::from_name("neon"), None);
    }
}
