//! The Migrator: history table, lock, up/down/status. (Being written.)
