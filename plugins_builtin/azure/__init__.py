"""Azure OpenAI (``builtin.azure``): the OpenAI endpoints under Azure's paths, reused, not
copied: chat, completions and embeddings per deployment
(``/openai/deployments/{deployment}/...?api-version=...``), the Responses API and the model
list, and the same under the version-less ``/openai/v1/...`` routes."""

from __future__ import annotations

from mockllm import Registry, RouteSpec, hookimpl
from plugins_builtin.azure.base import AzureEndpoint
from plugins_builtin.openai.chat import Chat
from plugins_builtin.openai.completions import Completions
from plugins_builtin.openai.embeddings import Embeddings
from plugins_builtin.openai.models import Models
from plugins_builtin.openai.responses import Responses


class AzureChat(AzureEndpoint, Chat):
    key = "azure.chat"
    filtered = True


class AzureCompletions(AzureEndpoint, Completions):
    key = "azure.completions"
    filtered = True


class AzureEmbeddings(AzureEndpoint, Embeddings):
    key = "azure.embeddings"


class AzureResponses(AzureEndpoint, Responses):
    key = "azure.responses"


class AzureModels(AzureEndpoint, Models):
    key = "azure.models"


def _per_deployment(action: str) -> list[RouteSpec]:
    return [RouteSpec(f"/openai/deployments/{{deployment}}/{action}", ("POST",)),
            RouteSpec(f"/openai/v1/{action}", ("POST",))]


@hookimpl(trylast=True)
def mockllm_register_endpoints(registry: Registry) -> None:
    registry.register("azure.chat", routes=_per_deployment("chat/completions"))(AzureChat)
    registry.register("azure.completions", routes=_per_deployment("completions"))(
        AzureCompletions)
    registry.register("azure.embeddings", routes=_per_deployment("embeddings"))(
        AzureEmbeddings)
    registry.register("azure.responses", routes=[
        route for base in ("/openai", "/openai/v1") for route in (
            RouteSpec(f"{base}/responses", ("POST",)),
            RouteSpec(f"{base}/responses/{{response_id}}", ("GET", "DELETE")))
    ])(AzureResponses)
    registry.register("azure.models", routes=[
        route for base in ("/openai", "/openai/v1") for route in (
            RouteSpec(f"{base}/models", ("GET",)),
            RouteSpec(f"{base}/models/{{model:path}}", ("GET",)))
    ])(AzureModels)
