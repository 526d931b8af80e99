"""The user's files as context: extracted, split on their own structure, retrieved by BM25."""
