"""The `openai_compatible` kind: OpenAI and every upstream that speaks its API (OpenRouter,
Ollama, vLLM, llama.cpp). One module per endpoint; client.py hands them out."""
