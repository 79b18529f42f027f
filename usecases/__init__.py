"""One module per endpoint (chat, completions, responses, embeddings, images,
transcriptions, videos, usage), and the account rules the console and the CLI share. Each
admits a request and hands the web layer a run (gateway/runs.py); no HTTP type."""
