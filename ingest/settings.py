"""Settings of the ingest step, read from DESK_ environment variables or a .env file."""

from typing import Annotated

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESK_", env_file=".env", extra="ignore")

    max_file_mb: float = 20.0
    fetch_timeout: float = 15.0
    # Where `desk ingest --tic` fetches Treasury's current tables from.
    tic_base_url: str = "https://ticdata.treasury.gov/resource-center/data-chart-center/tic/Documents/"
    # RSS/Atom feeds refreshed before each digest, separated by commas or spaces.
    feeds: Annotated[list[str], NoDecode] = []

    @field_validator("feeds", mode="before")
    @classmethod
    def split_feeds(cls, value):
        if isinstance(value, str):
            return [part for part in value.replace(",", " ").split() if part]
        return value

    @property
    def max_bytes(self) -> int:
        return int(self.max_file_mb * 1_000_000)
