"""What the transcription API tests share: the offline echo transcriber."""

ECHO = "writingmate/echo-transcribe"
