//! Events: written by the helper.
