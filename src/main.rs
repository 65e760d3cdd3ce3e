//! The `eks-remediator` CLI: `replay EVENT.json` shows what a function would do with an
//! event (`--apply` lets it act). `scan` arrives with the sweep.

fn main() {}
