"""Checks the cogs share: who may run the manager commands, and which permissions the bot lacks
in a channel before it tries to post there (Discord answers 403 otherwise)."""

from __future__ import annotations

import discord
from discord import app_commands

# What each kind of post needs, by discord.py's permission names (all of them: README's invite URL).
POST = ("view_channel", "send_messages", "embed_links", "read_message_history")
THREAD = ("create_public_threads", "send_messages_in_threads")
DIGEST_POST = ("view_channel", "send_messages", "embed_links", "attach_files")
MANAGE_SERVER = discord.Permissions(manage_guild=True)


def permission_name(name: str) -> str:
    return name.replace("_", " ").title().replace("In ", "in ")


def missing_permissions(permissions: discord.Permissions, needed) -> list[str]:
    return [permission_name(name) for name in needed if not getattr(permissions, name)]


def lacking_text(missing: list[str], what: str = "I can't post in this channel") -> str:
    """One line saying `what` fails and what the bot lacks, for the member who can fix it."""
    return f"{what}: I lack the {', '.join(missing)} permission{'s' if len(missing) > 1 else ''} here."


def require_manager(interaction: discord.Interaction) -> None:
    """Manage Server, in a server: Discord hides the manager commands from others, but a server
    admin can override command permissions per role or channel, so the bot checks again."""
    if interaction.guild is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])


def manager_only():
    """The same rule as a command check. Checks run before discord.py converts the options, so a
    member (or a DM) is refused even when an option cannot be converted there: /digest subscribe
    sent from a DM used to fail converting its channel and answer "Something went wrong"."""

    def predicate(interaction: discord.Interaction) -> bool:
        require_manager(interaction)
        return True

    return app_commands.check(predicate)


def manager_group(name: str, description: str) -> app_commands.Group:
    """A command group for managers. Discord applies default_permissions and guild_only to a
    top-level command only (discord.py drops them on subcommands), so they are set here: the
    group is hidden from members without Manage Server and from DMs."""
    return app_commands.Group(name=name, description=description, default_permissions=MANAGE_SERVER, guild_only=True)
