"""The gateway's application layer: settings, app factory, HTTP plumbing and the `wmgw` CLI."""
