//! Typed gateway configuration (TOML layered with STOX_* environment variables), validated at start.
