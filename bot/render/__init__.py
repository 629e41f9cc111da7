"""Everything the bot sends to Discord is built here: answers, lookups, the digest, charts and
sources, each neutralised (no mention pings) and within Discord's limits by construction
(limits.finish, limits.plain_message). The terminal has its own renderer of the same results,
bot.render.terminal, imported apart so that Discord's side never loads rich."""

from bot.render.answers import (
    answer_record,
    record_from_embeds,
    render_answer,
    source_line,
    sources_value,
    strip_bot_mention,
    thread_name,
)
from bot.render.charts import series_png, top_holders_png
from bot.render.digest import digest_embed
from bot.render.limits import (
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    Rendered,
    embed_size,
    neutralise,
    pack_embeds,
    plain_message,
    split_text,
    truncate,
)
from bot.render.lookups import render_chart, render_compare, render_country, render_sources, render_top

__all__ = [
    "CONTENT_LIMIT",
    "DESCRIPTION_LIMIT",
    "EMBED_TOTAL_LIMIT",
    "FIELD_VALUE_LIMIT",
    "Rendered",
    "answer_record",
    "digest_embed",
    "embed_size",
    "neutralise",
    "pack_embeds",
    "plain_message",
    "record_from_embeds",
    "render_answer",
    "render_chart",
    "render_compare",
    "render_country",
    "render_sources",
    "render_top",
    "series_png",
    "source_line",
    "sources_value",
    "split_text",
    "strip_bot_mention",
    "thread_name",
    "top_holders_png",
    "truncate",
]
