//! The console's theme: the system's preference (light or dark), or the one a person
//! chose, kept in a cookie so the server renders it from the first byte (no flash, and no
//! JavaScript needed to switch).

use leptos::prelude::*;

/// The cookie the chosen theme is kept in.
pub const THEME_COOKIE: &str = "idflow_theme";

/// Where the theme switch posts.
pub const THEME_PATH: &str = "/preferences/theme";

/// The themes: key and label. `system` follows the operating system's preference.
pub const THEMES: [(&str, &str); 3] = [("system", "System"), ("light", "Light"), ("dark", "Dark")];

/// `light` or `dark` as the `Cookie` header `header` chooses it; `None` for the system's.
pub fn from_cookies(header: &str) -> Option<&'static str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == THEME_COOKIE)
        .find_map(|(_, value)| match value.trim() {
            "light" => Some("light"),
            "dark" => Some("dark"),
            _ => None,
        })
}

/// The theme chosen for this page: `light`, `dark`, or `None` for the system's.
pub fn chosen() -> Option<&'static str> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().and_then(|parts| {
            parts
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(from_cookies)
        })
    }
    #[cfg(not(feature = "ssr"))]
    {
        // What the server rendered on <html>.
        let attribute = document()
            .document_element()
            .and_then(|html| html.get_attribute("data-theme"));
        match attribute.as_deref() {
            Some("light") => Some("light"),
            Some("dark") => Some("dark"),
            _ => None,
        }
    }
}

/// Three buttons (System, Light, Dark), the chosen one pressed; a plain form post.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let now = chosen().unwrap_or("system");
    let location = leptos_router::hooks::use_location();
    let back = move || format!("{}{}", location.pathname.get(), location.search.get());
    let buttons = THEMES
        .iter()
        .map(|(key, label)| {
            view! {
                <button
                    type="submit"
                    name="theme"
                    value=*key
                    aria-pressed=(now == *key).to_string()
                    title=format!("{label} theme")
                >
                    {*label}
                </button>
            }
        })
        .collect_view();
    view! {
        <form method="post" action=THEME_PATH class="theme-switch">
            <input type="hidden" name="back" value=back />
            <div role="group" aria-label="Theme">
                {buttons}
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::from_cookies;

    #[test]
    fn the_theme_cookie_is_read_among_others() {
        assert_eq!(from_cookies("id=abc; idflow_theme=dark"), Some("dark"));
        assert_eq!(from_cookies("idflow_theme=light"), Some("light"));
        assert_eq!(from_cookies("idflow_theme=purple; x=1"), None);
        assert_eq!(from_cookies("other_idflow_theme=dark"), None);
        assert_eq!(from_cookies(""), None);
    }
}
