"""The `anthropic` kind: Anthropic's Messages API. request.py and answers.py translate;
client.py makes the calls."""
