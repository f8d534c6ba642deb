"""Statistics and histograms of stored and current values."""
