//! The sans-IO call core: one input enum, one output enum, a timer table; legs as plain data.
