"""The `echo` kind: `writingmate/echo`, the built-in offline model, one module per endpoint;
model.py hands them out."""
