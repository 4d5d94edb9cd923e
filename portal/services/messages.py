"""Marks user-facing text in Flask-free services for extraction; views and commands translate it."""


def N_(message: str) -> str:
    return message
