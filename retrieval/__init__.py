"""The knowledge base (Chroma), search, exact holdings lookups and answering with citations."""
