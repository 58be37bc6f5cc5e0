//! Diffing two schemas into an ordered list of changes, and rendering them as `up` and `down`
//! SQL per dialect. (Being written.)
