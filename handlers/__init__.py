"""HTTP handlers, one module per tag of openapi.yaml, each function named after its
operation's operationId in snake case: `createChatCompletion` (tag `Chat`) is
`chat.create_chat_completion` (web/operations.py). `ops.py` serves ops.yaml, whose
operationIds are the handlers' dotted names.

They take validated input and the caller, call the gateway, and return a body or a stream.
"""
