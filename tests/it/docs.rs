//! Generated docs are fresh; examples in docs load.
