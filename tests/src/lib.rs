//! Test support: starting the emulator and the worker for end-to-end tests.
