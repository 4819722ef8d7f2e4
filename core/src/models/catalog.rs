//! The built-in catalog of recommended models (Jan's model hub), embedded from `catalog.json`.
//!
//! Sizes and sha256 digests were taken from public Hugging Face metadata where it could be confirmed; where
//! a digest is known the download is verified against it.

use std::sync::OnceLock;

use super::ModelFile;

const HUB: &str = "https://huggingface.co";

fn parsed() -> &'static [ModelFile] {
    static CATALOG: OnceLock<Vec<ModelFile>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        serde_json::from_str(include_str!("catalog.json")).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the built-in catalog does not parse");
            Vec::new()
        })
    })
}

/// The catalog, with `https://huggingface.co` replaced by `hub_base_url` when one is given (a mirror).
pub(crate) fn entries(hub_base_url: Option<&str>) -> Vec<ModelFile> {
    let mut models = parsed().to_vec();
    if let Some(base) = hub_base_url {
        let base = base.trim_end_matches('/');
        for source in models.iter_mut().flat_map(|m| m.sources.iter_mut().flatten()) {
            if let Some(rest) = source.url.strip_prefix(HUB) {
                source.url = format!("{base}{rest}");
            }
        }
    }
    models
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{IdKind, check};

    #[test]
    fn catalog_is_valid() {
        let models = entries(None);
        assert!(models.len() >= 10, "catalog has {} models", models.len());
        let mut ids = std::collections::HashSet::new();
        for m in &models {
            assert!(check(IdKind::Model, &m.id).is_ok(), "{}", m.id);
            assert!(ids.insert(m.id.clone()), "duplicate id {}", m.id);
            assert!(m.is_local() && !m.name.is_empty());
            let sources = m.effective_sources();
            assert!(!sources.is_empty(), "{} has no source", m.id);
            for s in sources {
                assert!(s.url.starts_with("https://huggingface.co/"), "{}", s.url);
                assert!(check(IdKind::FileName, &s.filename).is_ok());
                if let Some(sha) = &s.sha256 {
                    assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "{}", m.id);
                }
            }
            assert_eq!(m.weights_file_name().as_deref(), Some(m.effective_sources()[0].filename.as_str()));
            assert!(m.metadata.size.unwrap_or(0) > 100_000_000, "{} has no size", m.id);
        }
        for test_model in ["gemma3-270m-q4_k_m", "qwen2.5-coder-0.5b-instruct-q4_k_m"] {
            assert!(ids.contains(test_model), "{test_model} missing");
        }
    }

    #[test]
    fn mirror_rewrites_urls() {
        let models = entries(Some("http://127.0.0.1:9/"));
        assert!(models.iter().all(|m| m.effective_sources()[0].url.starts_with("http://127.0.0.1:9/")));
    }
}
