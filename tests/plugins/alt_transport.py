"""Throwaway plugin: replaces the ``ndjson`` transport with RFC 7464 JSON text sequences
(each record is ``\\x1e`` + JSON + ``\\n``, media type ``application/json-seq``)."""

from typing import ClassVar

from mockllm import Frame, Registry, Transport, hookimpl


class JsonSeqTransport(Transport):
    media_type: ClassVar[str] = "application/json-seq"

    def encode(self, frame: Frame) -> bytes:
        return b"\x1e" + frame.data + b"\n"


@hookimpl
def mockllm_register_transports(registry: Registry) -> None:
    registry.register("ndjson")(JsonSeqTransport)
