"""The `gemini` kind: Google's Gemini API (chat, embeddings, Imagen, transcription).
request.py, answers.py, tools.py, signatures.py, errors.py translate; client.py makes the
calls."""
