"""Table 3: the OmiEmbed-style classifier trained on real expression, scoring translated expression."""
