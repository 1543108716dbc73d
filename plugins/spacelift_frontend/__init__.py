"""The Spacelift frontend plugin: overview, stack and run pages that keep themselves current."""
