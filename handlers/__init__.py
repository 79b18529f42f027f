"""HTTP handlers, one module per spec tag, named after the operationIds in openapi.yaml.

They take validated input and the caller, call the gateway, and return a body or a stream.
"""
