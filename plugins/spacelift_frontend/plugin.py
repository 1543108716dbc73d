"""Entry point of the spacelift_frontend plugin (empty shell: registers nothing yet)."""
