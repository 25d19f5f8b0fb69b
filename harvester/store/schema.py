"""The catalog's tables: a public interface users write SQL against.

Change it only through an Alembic revision in ``migrations/versions``.
Timestamps are UTC. ``models.gated`` is NULL when a repo is not gated, else 'auto' or 'manual'.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UtcDateTime = DateTime(timezone=True)


class Base(DeclarativeBase):
    pass


class Model(Base):
    """One model repo, as the Hub last listed it."""

    __tablename__ = "models"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # "author/name"
    hub_id: Mapped[str] = mapped_column(String, index=True)  # the Hub's stable _id
    author: Mapped[str | None] = mapped_column(String, index=True)
    sha: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_modified: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    private: Mapped[bool | None]
    gated: Mapped[str | None] = mapped_column(String)
    disabled: Mapped[bool | None]
    downloads: Mapped[int | None] = mapped_column(BigInteger, index=True)
    downloads_all_time: Mapped[int | None] = mapped_column(BigInteger)
    likes: Mapped[int | None] = mapped_column(BigInteger, index=True)
    trending_score: Mapped[float | None] = mapped_column(Float)
    pipeline_tag: Mapped[str | None] = mapped_column(String, index=True)
    library_name: Mapped[str | None] = mapped_column(String, index=True)
    license: Mapped[str | None] = mapped_column(String)
    card_data: Mapped[Any | None] = mapped_column(JSON)
    raw: Mapped[Any] = mapped_column(JSON)  # the item exactly as received
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # NULL while the repo exists


class ModelTag(Base):
    """One tag of one model: 'models with tag X' is an indexed join."""

    __tablename__ = "model_tags"
    # Clustered on its primary key in SQLite: one B-tree fewer to fill for every tag.
    __table_args__ = (Index("ix_model_tags_tag", "tag", "model_id"), {"sqlite_with_rowid": False})

    model_id: Mapped[str] = mapped_column(
        String, ForeignKey("models.id", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String, primary_key=True)


class SyncState(Base):
    """Where each listing scope stands: an unfinished walk's cursor and the last finished watermark."""

    __tablename__ = "sync_state"

    scope: Mapped[str] = mapped_column(String, primary_key=True)  # kind plus any filters
    kind: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[str | None] = mapped_column(Text)  # next-page URL of an unfinished walk
    walk_mode: Mapped[str | None] = mapped_column(String(16))  # full or incremental
    walk_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    walk_top: Mapped[datetime | None] = mapped_column(UtcDateTime)  # newest lastModified when the walk began
    walk_stop_before: Mapped[datetime | None] = mapped_column(UtcDateTime)  # incremental walks stop below this
    walk_pages: Mapped[int] = mapped_column(Integer, default=0)
    page_size: Mapped[int | None] = mapped_column(Integer)
    watermark: Mapped[datetime | None] = mapped_column(UtcDateTime)  # Hub lastModified of the last finished walk
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SyncRun(Base):
    """One `harvester sync` run and what it did; updated with every committed page."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String, index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    mode: Mapped[str] = mapped_column(String(16))  # full, incremental, resume
    status: Mapped[str] = mapped_column(String(16))  # running, ok, failed, interrupted, abandoned
    complete: Mapped[bool] = mapped_column(default=False)  # False when --max-pages left the walk unfinished
    pages: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    rows_inserted: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


models = Model.__table__
model_tags = ModelTag.__table__
sync_state = SyncState.__table__
sync_runs = SyncRun.__table__
