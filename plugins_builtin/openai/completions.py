"""``openai.completions``: the legacy ``POST /v1/completions``, plain and streamed.

``prompt`` may be a string, a list of strings, a token array or a list of token arrays; each
prompt gets ``n`` choices (indexes ``prompt * n + i``), as the API numbers them. Token
prompts are decoded with the model's tokenizer so rules see text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
from starlette.requests import Request
from starlette.responses import Response

from mockllm import Frame
from mockllm.engine import Message, NeutralRequest, Plan
from mockllm.engine.schema import ModelConfig
from mockllm.engine.tokens import pieces as token_pieces
from mockllm.observe import SCOPE_KEY

from . import errors, wire
from .base import OpenAIEndpoint, known_fields
from .errors import check_count
from .logprobs import CompletionLogprobs, completion_logprobs
from .wire import FINISH, SYSTEM_FINGERPRINT, GenerationParams, Usage, encoder

#: The API's default when ``max_tokens`` is left out.
DEFAULT_MAX_TOKENS = 16


class CompletionRequest(GenerationParams):
    model: str
    prompt: str | list[str | int | list[int]]
    suffix: str | None = None
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    echo: bool | None = None
    best_of: int | None = None
    logprobs: int | None = None


_decoder = msgspec.json.Decoder(CompletionRequest)
_FIELDS = known_fields(CompletionRequest)


class CompletionChoice(msgspec.Struct):
    text: str
    index: int
    logprobs: CompletionLogprobs | None
    finish_reason: str | None


class Completion(msgspec.Struct):
    id: str
    object: str
    created: int
    model: str
    choices: list[CompletionChoice]
    system_fingerprint: str = SYSTEM_FINGERPRINT
    usage: Usage | None | UnsetType = UNSET


def prompts(prompt: str | list[str | int | list[int]], decode: Any) -> list[str]:
    """Every prompt as text; a mix of strings and token arrays is refused, as the API does."""
    if isinstance(prompt, str):
        return [prompt]
    if not prompt:
        raise errors.invalid("prompt", "Invalid 'prompt': empty array. Expected an array with "
                             "minimum length 1, but got an empty array instead.", "empty_array")
    if all(isinstance(p, int) for p in prompt):
        return [decode(prompt)]
    if all(isinstance(p, str) for p in prompt):
        return list(prompt)  # type: ignore[arg-type]
    if all(isinstance(p, list) for p in prompt):
        return [decode(p) for p in prompt]
    raise errors.invalid("prompt", "Invalid 'prompt': expected a string, an array of strings, "
                         "an array of tokens or an array of token arrays.", "invalid_type")


def _check(req: CompletionRequest, model: ModelConfig) -> None:
    check_count("n", req.n, 1, 128)
    check_count("logprobs", req.logprobs, 0, 5)
    check_count("max_tokens", req.max_tokens, 0, None)
    if req.max_tokens is not None and req.max_tokens > model.max_output_tokens:
        raise errors.invalid("max_tokens", f"max_tokens is too large: {req.max_tokens}. This "
                             f"model supports at most {model.max_output_tokens} completion "
                             f"tokens, whereas you provided {req.max_tokens}.")


def to_neutral(req: CompletionRequest, prompt: str, headers: dict[str, str]) -> NeutralRequest:
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or ())
    return NeutralRequest(
        endpoint="openai.completions", provider="openai", model=req.model,
        messages=[Message("user", prompt)], max_tokens=req.max_tokens,
        min_tokens=req.min_tokens, ignore_eos=req.ignore_eos, stop=stop, n=req.n or 1,
        seed=req.seed, stream=bool(req.stream), logprobs=req.logprobs is not None,
        top_logprobs=req.logprobs or 0, headers=headers,
    )


class _Render:
    """What rendering needs per request: prompts, their plans and the logprob settings."""

    def __init__(self, req: CompletionRequest, texts: list[str], plans: list[Plan],
                 tok: Any) -> None:
        self.texts, self.plans, self.tok = texts, plans, tok
        self.echo = bool(req.echo)
        self.top = req.logprobs
        self.n = req.n or 1

    def logprobs(self, prompt: str, pieces: list[str]) -> CompletionLogprobs | None:
        if self.top is None:
            return None
        if not self.echo:
            return completion_logprobs(pieces, self.top)
        return completion_logprobs([*token_pieces(self.tok, prompt), *pieces], self.top)

    def usage(self) -> Usage:
        return wire.usage(sum(p.prompt_tokens for p in self.plans),
                          sum(p.completion_tokens for p in self.plans))

    def choices(self) -> list[CompletionChoice]:
        out = []
        for i, (prompt, plan) in enumerate(zip(self.texts, self.plans, strict=True)):
            for c in plan.choices:
                text = prompt + c.text if self.echo else c.text
                out.append(CompletionChoice(text, i * self.n + c.index,
                                            self.logprobs(prompt, c.pieces),
                                            FINISH[c.finish_reason]))
        return out

    def frames(self, cid: str, created: int, model: str, include_usage: bool
               ) -> Iterator[Frame]:
        empty: None | UnsetType = None if include_usage else UNSET
        head = encoder.encode(Completion(cid, "text_completion", created, model, [],
                                         usage=empty))
        cut = head.index(b'"choices":[') + len(b'"choices":[')
        start, end = head[:cut], head[cut:]

        def one(choice: CompletionChoice) -> bytes:
            return start + encoder.encode(choice) + end

        for i, (prompt, plan) in enumerate(zip(self.texts, self.plans, strict=True)):
            for c in plan.choices:
                index = i * self.n + c.index
                if self.echo:
                    yield Frame(None, one(CompletionChoice(
                        prompt, index, self.logprobs(prompt, []) if self.top else None, None)))
                for j, piece in enumerate(c.pieces):
                    lp = None if self.top is None else completion_logprobs(
                        [piece], self.top, offset=j)
                    yield Frame(None, one(CompletionChoice(piece, index, lp, None)), token=True)
                yield Frame(None, one(CompletionChoice("", index, None, FINISH[c.finish_reason])),
                            final=True)
        if include_usage:
            yield Frame(None, encoder.encode(Completion(cid, "text_completion", created, model,
                                                        [], usage=self.usage())), final=True)


class Completions(OpenAIEndpoint):
    """``POST /v1/completions``."""

    key = "openai.completions"

    async def handle(self, request: Request) -> Response:
        req, body = await self.parse(request, _decoder, _FIELDS)
        model = self.model(req.model)
        _check(req, model)
        tok = self.context.tokenizers.get(model.tokenizer)
        texts = prompts(req.prompt, _decoder_for(tok))
        headers = self.headers(request)
        plans = [await self.make_plan(request, to_neutral(req, text, headers), body)
                 for text in texts]
        render = _Render(req, texts, plans, tok)
        self._note_totals(request, plans)
        cid, created, name = wire.new_id("cmpl-"), wire.now(), plans[0].model.id
        if req.stream:
            include = req.stream_options is not None and req.stream_options.include_usage
            return self.transport("sse").stream(
                self.with_fault(render.frames(cid, created, name, include), plans[0]),
                pacing=plans[0].pacing,
            )
        pacing = plans[0].pacing
        if pacing is not None:
            await self.wait_paced(pacing, sum(p.completion_tokens for p in plans))
        values = sum(p.completion_tokens for p in plans) * ((req.logprobs or 0) + 1)
        return await self.build(lambda: wire.json_response(Completion(
            cid, "text_completion", created, name, render.choices(), usage=render.usage())),
            values)

    @staticmethod
    def _note_totals(request: Request, plans: list[Plan]) -> None:
        """Several prompts are one request: the journal gets the sums, not the last plan's."""
        obs = request.scope.get(SCOPE_KEY)
        if obs is not None and len(plans) > 1:
            obs.prompt_tokens = sum(p.prompt_tokens for p in plans)
            obs.completion_tokens = sum(p.completion_tokens for p in plans)


def _decoder_for(tok: Any) -> Any:
    def decode(tokens: list[int]) -> str:
        try:
            return str(tok.decode(tokens))
        except Exception:
            raise errors.invalid("prompt", "Invalid 'prompt': the token array holds ids that "
                                 "are not in the model's vocabulary.") from None
    return decode
