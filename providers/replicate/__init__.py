"""The `replicate` kind: Replicate's predictions API for image models. request.py
translates; client.py makes the calls."""
