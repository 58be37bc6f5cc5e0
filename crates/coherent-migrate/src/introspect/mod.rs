//! Reading the live schema back from the catalog. (Being written.)
