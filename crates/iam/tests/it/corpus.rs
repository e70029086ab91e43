//! Corpus replay (filled below).
