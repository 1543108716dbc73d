"""Built-in behaviour, written as plugins against the public hooks and registered first."""
