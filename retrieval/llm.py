"""The optional LLM, through LangChain. `DESK_LLM=openai:MODEL` with `DESK_LLM_BASE_URL` reaches
any OpenAI-compatible server (Ollama, vLLM, llama.cpp); without it answers are composed."""

from __future__ import annotations

from retrieval.errors import DeskError
from retrieval.settings import RetrievalSettings


def llm_from_settings(settings: RetrievalSettings):
    if not settings.llm:
        return None
    provider, _, model = settings.llm.partition(":")
    if provider != "openai" or not model:
        raise DeskError(f"DESK_LLM must look like openai:MODEL, got {settings.llm!r}")
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model,
        base_url=settings.llm_base_url or None,
        # Local servers want no key, but the client insists on one.
        api_key=settings.llm_api_key.get_secret_value() or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=1,
        temperature=0,
    )
