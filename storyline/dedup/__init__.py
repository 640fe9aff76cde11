"""Duplicates stage: exact copies by content hash, near-copies by MinHash LSH."""
from .base import Deduplicator, DedupResult, NoDedup
from .minhash import MinHashDeduplicator

__all__ = ["Deduplicator", "DedupResult", "NoDedup", "MinHashDeduplicator"]
