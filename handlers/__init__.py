"""HTTP handlers, one module per spec tag, each function named after its operation's
operationId in snake case: `createChatCompletion` (tag `Chat`) is `chat.create_chat_completion`
(gateway/operations.py).

They take validated input and the caller, call the gateway, and return a body or a stream.
"""
