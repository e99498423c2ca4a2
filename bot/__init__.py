"""The Telegram adapter: dispatcher factory, routers, FSM, keyboards, middlewares."""
