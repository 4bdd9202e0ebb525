"""Core of the document question-answering assistant: settings, embedding, store, retrieval, answering."""
