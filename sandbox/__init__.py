"""The local stand-in for Telegram, the bank and mail: a separate aiohttp service.

It speaks HTTP only and imports neither `bot` nor `core`.
"""
