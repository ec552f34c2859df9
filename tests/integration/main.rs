//! Integration tests of the `portcullis` binary against the simulator.
