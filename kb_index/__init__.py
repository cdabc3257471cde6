"""Knowledge-base index (vector store protocol, FAISS and Qdrant backends): see issue 3."""
