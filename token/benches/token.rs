//! Token ledger benchmarks (filled in below).
fn main() {}
