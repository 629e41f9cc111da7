"""The Discord bot, the terminal chat and the `desk` command line: the front ends."""
