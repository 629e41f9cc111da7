"""Sources -> documents -> chunks -> embeddings -> the knowledge base."""
