"""A faithful local Spacelift GraphQL API simulator."""
