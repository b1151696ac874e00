//! Update field masks (AIP-134).

use crate::error::FieldViolations;

/// The fields an update changes, from its `update_mask`: each path must be one of
/// `updatable` (a violation on `update_mask` names every unknown path and lists the
/// updatable ones); `*` stands for every updatable field; a missing or empty mask is refused,
/// since an update that names nothing would silently do nothing. Paths are returned once
/// each, in the order of `updatable`.
pub fn update_paths<'a>(
    violations: &mut FieldViolations,
    mask: Option<&prost_types::FieldMask>,
    updatable: &[&'a str],
) -> Vec<&'a str> {
    let paths = mask.map(|mask| mask.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        violations.add(
            "update_mask",
            format!(
                "is required: name the fields to change ({}), or `*` for all",
                updatable.join(", ")
            ),
        );
        return Vec::new();
    }
    if paths.iter().any(|path| path == "*") {
        if paths.len() > 1 {
            violations.add("update_mask", "`*` must be the only path");
        }
        return updatable.to_vec();
    }
    let unknown: Vec<&str> = paths
        .iter()
        .map(String::as_str)
        .filter(|path| !updatable.contains(path))
        .collect();
    if !unknown.is_empty() {
        violations.add(
            "update_mask",
            format!(
                "unknown or read-only field{} `{}`; updatable: {}",
                if unknown.len() == 1 { "" } else { "s" },
                unknown.join("`, `"),
                updatable.join(", ")
            ),
        );
    }
    updatable
        .iter()
        .copied()
        .filter(|field| paths.iter().any(|path| path == field))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATABLE: &[&str] = &["subject", "priority", "tags"];

    fn mask(paths: &[&str]) -> prost_types::FieldMask {
        prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    fn descriptions(violations: &FieldViolations) -> Vec<String> {
        violations
            .violations()
            .iter()
            .map(|v| format!("{}: {}", v.field, v.description))
            .collect()
    }

    #[test]
    fn named_paths_come_back_once_in_a_stable_order() {
        let mut v = FieldViolations::new();
        let paths = update_paths(&mut v, Some(&mask(&["tags", "subject", "tags"])), UPDATABLE);
        assert!(v.is_empty());
        assert_eq!(paths, ["subject", "tags"]);
    }

    #[test]
    fn a_star_means_every_updatable_field() {
        let mut v = FieldViolations::new();
        assert_eq!(
            update_paths(&mut v, Some(&mask(&["*"])), UPDATABLE),
            UPDATABLE
        );
        assert!(v.is_empty());
        update_paths(&mut v, Some(&mask(&["*", "subject"])), UPDATABLE);
        assert_eq!(descriptions(&v), ["update_mask: `*` must be the only path"]);
    }

    #[test]
    fn a_missing_or_empty_mask_is_refused() {
        for given in [None, Some(mask(&[]))] {
            let mut v = FieldViolations::new();
            assert!(update_paths(&mut v, given.as_ref(), UPDATABLE).is_empty());
            assert_eq!(v.violations()[0].field, "update_mask");
        }
    }

    #[test]
    fn every_unknown_path_is_named() {
        let mut v = FieldViolations::new();
        let paths = update_paths(&mut v, Some(&mask(&["subject", "etag", "name"])), UPDATABLE);
        assert_eq!(paths, ["subject"]);
        assert_eq!(
            descriptions(&v),
            [
                "update_mask: unknown or read-only fields `etag`, `name`; updatable: subject, priority, tags"
            ]
        );
    }
}
