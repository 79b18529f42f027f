"""A gemini-2.5-flash stream as Gemini sent it (louter fixture), for the stream and error
translation tests."""

RECORDED_STREAM = [
    {
        "candidates": [
            {
                "content": {
                    "parts": [{"text": "Okay, let's create a Tetris game"}],
                    "role": "model",
                },
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 4,
            "candidatesTokenCount": 49,
            "totalTokenCount": 2095,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 4}],
            "thoughtsTokenCount": 2042,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "IZI2acSKMoWl0-kPmYj2yQc",
    },
    {
        "candidates": [
            {
                "content": {"parts": [{"text": " in Python."}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 4,
            "candidatesTokenCount": 97,
            "totalTokenCount": 2143,
            "thoughtsTokenCount": 2042,
        },
        "modelVersion": "gemini-2.5-flash",
        "responseId": "IZI2acSKMoWl0-kPmYj2yQc",
    },
]
