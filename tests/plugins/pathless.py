"""Throwaway plugin: a new key with no path declared anywhere."""

from mockllm import Endpoint, Registry, hookimpl


class Pathless(Endpoint):
    pass


@hookimpl
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("acme.nowhere")(Pathless)
