//! A simulated Kubernetes API server over real HTTP on 127.0.0.1 (tests, benches, `demo`).
