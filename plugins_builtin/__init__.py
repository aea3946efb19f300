"""mockllm's builtin plugins, one module per provider or transport family.

Each module is registered as ``builtin.<module>`` with trylast hookimpls, so any installed
plugin that implements the same key wins over it. Each API family's provider strategy
(``<family>/provider.py``) is registered when this package is imported, so the engine and
the error boundary find it by name whichever endpoints are active. The order is the order in
which an unknown URL is offered to them (``Provider.claims``): Ollama's ``/api/`` first.
"""

# isort: off
from plugins_builtin.ollama import provider as _ollama
from plugins_builtin.anthropic import provider as _anthropic
from plugins_builtin.gemini import provider as _gemini
from plugins_builtin.nim import provider as _nim
from plugins_builtin.azure import provider as _azure
from plugins_builtin.openai import provider as _openai
from plugins_builtin.rerank import provider as _rerank
from plugins_builtin.vllm import provider as _vllm
from plugins_builtin.bedrock import provider as _bedrock
# isort: on

__all__: list[str] = []
del _anthropic, _azure, _bedrock, _gemini, _nim, _ollama, _openai, _rerank, _vllm
