"""Plain English words for generated test documents, shared by the benchmarks."""

WORDS = (
    "river",
    "mountain",
    "city",
    "market",
    "harbour",
    "bridge",
    "library",
    "council",
    "museum",
    "festival",
    "railway",
    "garden",
    "winter",
    "summer",
    "trade",
    "school",
    "hospital",
    "castle",
)
