"""Settings of the Discord bot: DESK_ environment variables (or .env); the token is DISCORD_TOKEN."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from retrieval.settings import DeskSettings


def _id_list(value) -> list[int]:
    """ "1,2 3" or a list -> [1, 2, 3]: people write ids separated by commas or spaces."""
    if value is None or value == "":
        return []
    if isinstance(value, (int, str)):
        value = str(value).replace(",", " ").split()
    return [int(v) for v in value]


class BotSettings(DeskSettings):
    # SecretStr keeps the token out of reprs, logs and tracebacks.
    token: SecretStr = Field(SecretStr(""), validation_alias=AliasChoices("DISCORD_TOKEN", "DESK_DISCORD_TOKEN"))
    # Commands are synced to these guilds at once (global sync can take an hour to show).
    guild_ids: Annotated[list[int], NoDecode] = []
    # Empty: every channel the bot can see.
    allowed_channels: Annotated[list[int], NoDecode] = []
    # The first answer in a channel opens a thread, where follow-ups keep their context.
    threads: bool = True
    # Each user may ask `cooldown_rate` questions per `cooldown_seconds`; 0 seconds turns it off.
    cooldown_seconds: float = 10.0
    cooldown_rate: int = 3
    # Privileged: lets follow-ups in a bot thread work without mentioning the bot.
    message_content: bool = False

    @field_validator("guild_ids", "allowed_channels", mode="before")
    @classmethod
    def _split_ids(cls, value):
        return _id_list(value)

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"
