"""Database URLs as they may be shown: with the password masked."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def masked_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
