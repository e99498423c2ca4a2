"""The domain of the DMS cabinet: use cases per context. Never imports aiogram."""
