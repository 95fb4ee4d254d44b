"""Reading an export in chunks, in this process or in a child process.

Parsing a line costs about as much as storing its record, and one Python process runs
on one core. For a large file the reader therefore runs in a child process (spawned,
never forked from a threaded server) and hands over whole chunks, each with the
checkpoint that follows it, through a queue of a few chunks: memory stays flat, and
the runner commits every chunk with its own checkpoint, exactly as when reading here.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qunyun.imports.readers import ReadOptions, Skip, open_reader
from qunyun.stream.records import Record

# Smaller files are read in the runner's own process: a child costs half a second.
CHILD_READER_BYTES = 16 * 1024 * 1024
# Chunks waiting in the queue: enough to keep both processes busy, few enough for memory.
QUEUE_CHUNKS = 3
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Source:
    format: str
    path: str
    options: ReadOptions
    checkpoint: dict[str, Any] | None
    chunk_size: int


@dataclass
class Chunk:
    records: list[Record] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    # Where reading resumes after this chunk (None: nowhere new), and the reader's state.
    offset: int | None = None
    checkpoint: dict[str, Any] = field(default_factory=dict)
    last: bool = False


def read(source: Source) -> Iterator[Chunk]:
    reader = open_reader(source.format, Path(source.path), source.options, source.checkpoint)
    chunk = Chunk()
    for offset, item in reader:
        if isinstance(item, Skip):
            chunk.skips.append(item)
        else:
            chunk.records.append(item)
        # Only after an item with an offset is the checkpoint a place to resume from.
        if offset is not None and len(chunk.records) >= source.chunk_size:
            chunk.offset, chunk.checkpoint = offset, reader.checkpoint()
            yield chunk
            chunk = Chunk()
    chunk.checkpoint, chunk.last = reader.checkpoint(), True
    yield chunk


class ReaderFailed(Exception):
    """The child process could not read the file; the message says why."""


def read_in_child(source: Source) -> Iterator[Chunk]:
    context = multiprocessing.get_context("spawn")
    chunks: Any = context.Queue(maxsize=QUEUE_CHUNKS)
    child = context.Process(
        target=_produce, args=(source, chunks, os.getpid()), name="qunyun-import-reader"
    )
    child.daemon = True
    child.start()
    try:
        while True:
            try:
                message = chunks.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not child.is_alive():
                    raise ReaderFailed(f"reader process exited ({child.exitcode})") from None
                continue
            if isinstance(message, ReaderFailed):
                raise message
            yield message
            if message.last:
                return
    finally:
        if child.is_alive():
            child.terminate()
        child.join(timeout=5)
        chunks.close()


def _produce(source: Source, chunks: Any, parent: int) -> None:
    try:
        for chunk in read(source):
            while True:
                try:
                    chunks.put(chunk, timeout=POLL_SECONDS)
                    break
                except queue.Full:
                    # The runner died (kill -9): nobody will read; stop.
                    if os.getppid() != parent:
                        return
    except Exception as exc:
        chunks.put(ReaderFailed(f"{type(exc).__name__}: {exc}"))
