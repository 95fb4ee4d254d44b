"""History importers: chat exports streamed into the stream, idempotent and resumable."""
