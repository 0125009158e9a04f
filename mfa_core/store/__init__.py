"""Stores: the interface and the built-in implementations."""

from .base import FlowRecord, LimiterState, Store, ValidationSession
from .memory import MemoryStore
from .sqlite import SQLiteStore

__all__ = ["FlowRecord", "LimiterState", "MemoryStore", "SQLiteStore", "Store", "ValidationSession"]
