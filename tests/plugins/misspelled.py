"""Throwaway plugin with a misspelled hook: check_pending must refuse it."""

from mockllm import hookimpl


@hookimpl
def mockllm_register_endpoint(registry: object) -> None:  # missing the final "s"
    pass
