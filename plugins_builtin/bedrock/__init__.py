"""AWS Bedrock Runtime's Converse API (``builtin.bedrock``): ``converse`` and
``converse-stream`` (the AWS event-stream framing), as boto3's ``bedrock-runtime`` client
calls them with ``endpoint_url``.

``modelId`` is one path segment that botocore percent-encodes, so an ARN arrives with its
``/`` as ``%2F``; the routes take the rest of the path up to the operation name.
"""

from __future__ import annotations

from mockllm import Registry, RouteSpec, hookimpl
from plugins_builtin.bedrock.endpoints import Converse, ConverseStream
from plugins_builtin.bedrock.eventstream import EventStreamTransport


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("bedrock.converse", routes=[
        RouteSpec("/model/{modelId:path}/converse", ("POST",))])(Converse)
    registry.register("bedrock.converse_stream", routes=[
        RouteSpec("/model/{modelId:path}/converse-stream", ("POST",))])(ConverseStream)


@hookimpl(trylast=True)
def mockllm_register_transports(registry: Registry) -> None:
    registry.register("aws-eventstream")(EventStreamTransport)
