//! Categories: a tree of at most five levels, with names per language.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::DomainError;

/// How deep the tree may go.
pub const MAX_DEPTH: usize = 5;

/// A category.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// Its id.
    pub id: Uuid,
    /// Its parent.
    pub parent: Option<Uuid>,
    /// Names per language.
    pub display_names: BTreeMap<String, String>,
    /// Descriptions per language.
    pub descriptions: BTreeMap<String, String>,
    /// Position among siblings.
    pub display_order: i32,
    /// Concurrency version.
    pub version: i64,
    /// Created (UTC µs).
    pub create_time: i64,
    /// Last changed.
    pub update_time: i64,
}

/// Checks that `id` may hang under `parent` given every category's parent (`parents`):
/// not under itself or a descendant, and no deeper than [`MAX_DEPTH`] levels including the
/// subtree under `id`.
pub fn check_parent(
    id: Option<Uuid>,
    parent: Option<Uuid>,
    parents: &BTreeMap<Uuid, Option<Uuid>>,
) -> Result<(), DomainError> {
    let Some(parent) = parent else {
        return Ok(());
    };
    if !parents.contains_key(&parent) {
        return Err(DomainError::invalid("category.parent", "no such category"));
    }
    // Depth of the parent (1 for a top-level category), refusing cycles through `id`.
    let mut depth = 0;
    let mut cursor = Some(parent);
    while let Some(current) = cursor {
        if Some(current) == id {
            return Err(DomainError::invalid(
                "category.parent",
                "must not be the category itself or one of its descendants",
            ));
        }
        depth += 1;
        if depth > MAX_DEPTH {
            break;
        }
        cursor = parents.get(&current).copied().flatten();
    }
    let subtree = id.map_or(1, |id| subtree_height(id, parents));
    if depth + subtree > MAX_DEPTH {
        return Err(DomainError::invalid(
            "category.parent",
            format!("categories nest at most {MAX_DEPTH} levels deep"),
        ));
    }
    Ok(())
}

fn subtree_height(id: Uuid, parents: &BTreeMap<Uuid, Option<Uuid>>) -> usize {
    1 + parents
        .iter()
        .filter(|(_, p)| **p == Some(id))
        .map(|(child, _)| subtree_height(*child, parents))
        .max()
        .unwrap_or(0)
}

/// `id` and every category under it.
pub fn descendants(id: Uuid, parents: &BTreeMap<Uuid, Option<Uuid>>) -> Vec<Uuid> {
    let mut out = vec![id];
    let mut i = 0;
    while i < out.len() {
        let current = out[i];
        out.extend(
            parents
                .iter()
                .filter(|(_, p)| **p == Some(current))
                .map(|(child, _)| *child),
        );
        i += 1;
        if out.len() > parents.len() + 1 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: usize) -> (Vec<Uuid>, BTreeMap<Uuid, Option<Uuid>>) {
        let ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        let mut parents = BTreeMap::new();
        for (i, id) in ids.iter().enumerate() {
            parents.insert(*id, if i == 0 { None } else { Some(ids[i - 1]) });
        }
        (ids, parents)
    }

    #[test]
    fn a_category_cannot_move_under_its_own_descendant() {
        let (ids, parents) = chain(3);
        assert!(check_parent(Some(ids[0]), Some(ids[2]), &parents).is_err());
        assert!(check_parent(Some(ids[0]), Some(ids[0]), &parents).is_err());
        assert!(check_parent(Some(ids[2]), Some(ids[0]), &parents).is_ok());
    }

    #[test]
    fn the_tree_is_at_most_five_levels_deep() {
        let (ids, parents) = chain(5);
        assert!(check_parent(None, Some(ids[3]), &parents).is_ok());
        assert!(check_parent(None, Some(ids[4]), &parents).is_err());
        let (other, mut more) = chain(2);
        more.extend(parents.clone());
        assert!(check_parent(Some(other[0]), Some(ids[3]), &more).is_err());
    }

    #[test]
    fn descendants_include_the_whole_subtree() {
        let (ids, parents) = chain(4);
        assert_eq!(descendants(ids[1], &parents), ids[1..].to_vec());
    }
}
