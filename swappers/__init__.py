"""swappers package."""
