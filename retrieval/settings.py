"""Settings of the knowledge base, read from DESK_ environment variables or a .env file.

DeskSettings holds what every package's settings share (the data directory); each package's own
settings extend it, so `--data-dir` given to one settings object is the same setting in all.
"""

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(user_data_dir("holdings-desk", appauthor=False))


class DeskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_", env_file=".env", extra="ignore")

    # The embedded store, its keyword index, the models exported on first use and the bot's state.
    data_dir: Path = default_data_dir()


class RetrievalSettings(DeskSettings):
    # http://host:port of a `chroma run` server; empty means embedded Chroma under data_dir.
    chroma_url: str = ""
    # A sentence-transformers name or path; empty means the bundled all-MiniLM-L6-v2.
    embed_model: str = ""
    # "openai:MODEL" to answer with an LLM through LangChain; empty means composed answers.
    llm: str = ""
    llm_base_url: str = ""
    llm_api_key: SecretStr = SecretStr("")  # never shown by a repr of the settings
    llm_timeout: float = 30.0
