//! Telemetry: written by the helper.
