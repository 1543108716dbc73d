"""greenroom-hello: the example plugin that docs/plugins.md walks through."""
